"""Signed client links: the PDF without a login, for the document the link names and no other."""
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from documents.links import document_link
from documents.selectors import invoice_pdf_url

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    return url.removeprefix("https://payplan.test")


def test_the_crm_note_link_is_absolute_signed_and_serves_the_pdf_without_a_login(issue_invoice):
    invoice = issue_invoice()
    url = invoice_pdf_url(invoice)
    assert url.startswith("https://payplan.test/documents/")
    response = Client().get(_path(url))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_a_tampered_or_foreign_link_is_a_friendly_404(issue_invoice, other_account):
    invoice = issue_invoice()
    url = _path(invoice_pdf_url(invoice))
    assert Client().get(url[:-3] + "AAA").status_code == 404
    forged = _path(document_link(account_id=other_account.pk, kind="invoice", object_id=invoice.pk))
    response = Client().get(forged)
    assert response.status_code == 404
    assert "Документ не найден" in response.content.decode()


def test_a_link_expires(issue_invoice, settings):
    invoice = issue_invoice()
    url = _path(invoice_pdf_url(invoice))
    with time_machine.travel(timedelta(days=settings.DOCUMENTS_LINK_MAX_AGE_DAYS + 1)):
        response = Client().get(url)
    assert response.status_code == 404
    assert "устарела" in response.content.decode()
