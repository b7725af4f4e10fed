"""GET /api/v1/invoices/{id}/pdf, /payments/{id}/receipt.pdf and the deal's printouts: PDFs for the
token's account only, made from the right data, stored and served again without re-rendering."""
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing.services import PaymentInput, payment_record
from documents import services
from documents.contexts import invoice_pay_by
from documents.kinds import Kind
from documents.models import StoredDocument
from documents.qr import qr_data_uri
from documents.safe_render import render_template
from documents.selectors import default_template_source, document_subject_get
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def _html(account, kind, object_id) -> str:
    subject = document_subject_get(account=account, kind=kind, object_id=object_id)
    return render_template(default_template_source(kind), subject.variables)


def test_an_issued_invoice_pdf_is_stored_after_commit_and_served_without_rendering_again(
        issue_invoice, widget, monkeypatch):
    invoice = issue_invoice()
    stored = StoredDocument.objects.get(kind="invoice", object_id=invoice.pk)
    assert stored.pages == 1
    monkeypatch.setattr(services, "document_pdf", lambda **kwargs: pytest.fail("rendered again"))
    response = widget.get(f"/api/v1/invoices/{invoice.pk}/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert len(response.content) == stored.size
    assert "invoice-2026-000001.pdf" in response["Content-Disposition"]


def _pay_by(account, invoice) -> date:
    """Line 1 is due on 05.12.2026; an invoice issued later gives the client three days from its issue."""
    return invoice_pay_by(due_date=date(2026, 12, 5), grace_days=3,
                          issued_on=invoice.issued_at.astimezone(ZoneInfo(account.time_zone)).date())


def test_the_invoice_says_what_a_russian_invoice_must(issue_invoice, school):
    invoice = issue_invoice()
    html = _html(school, Kind.INVOICE, invoice.pk)
    for text in ("Счёт на оплату № 2026-000001", "ООО «Школа профессий»", "ИНН 7701234567", "КПП 770101001",
                 "044525974", "30101810145250000974", "40702810910000012345", "АО «ТБанк», г. Москва",
                 "Иванова Мария Сергеевна", "10\u00a0000,00", "Десять тысяч рублей 00 копеек",
                 f"Оплатить не позднее {_pay_by(school, invoice):%d.%m.%Y}", invoice.payment_url, "Петров П. П.",
                 "Сидорова А. А.",
                 "платёж 1 из 3 по графику"):
        assert text in html, text
    assert qr_data_uri(invoice.payment_url) in html  # the QR encodes exactly the payment link
    assert "не указано" not in html


def test_missing_requisites_still_render_with_a_visible_mark_and_the_api_lists_them(
        issue_invoice, school, widget):
    school.settings = {"requisites": {"company_name": "ИП Смирнов", "inn": "770100000000"}}
    school.save()
    invoice = issue_invoice()
    html = _html(school, Kind.INVOICE, invoice.pk)
    assert html.count('class="missing">не указано') >= 5
    assert widget.get(f"/api/v1/invoices/{invoice.pk}/pdf").status_code == 200
    missing = widget.get("/api/v1/account/templates/invoice").json()["requisites_missing"]
    assert missing == ["address", "bank_name", "bik", "correspondent_account", "bank_account"]  # no KPP for an ИП


def test_an_invoice_or_receipt_of_another_account_is_a_404(issue_invoice, other_widget, widget):
    invoice = issue_invoice()
    assert_error(other_widget.get(f"/api/v1/invoices/{invoice.pk}/pdf"), 404, "invoice_not_found")
    payment = payment_record(deal=invoice.deal, amount=Decimal("5000.00"),
                             payment=PaymentInput(method="cash", paid_at=date(2026, 11, 24)))
    assert_error(other_widget.get(f"/api/v1/payments/{payment.pk}/receipt.pdf"), 404, "payment_not_found")
    assert_error(widget.get("/api/v1/invoices/999999999/pdf"), 404, "invoice_not_found")
    assert_error(other_widget.get(f"/api/v1/deals/{invoice.deal.external_id}/documents/schedule.pdf"), 404)


def test_a_receipt_states_the_payment_and_the_debt_left_after_it(issue_invoice, school, widget):
    deal = issue_invoice().deal
    first = payment_record(deal=deal, amount=Decimal("10000.00"),
                           payment=PaymentInput(method="cash", paid_at=date(2026, 11, 24)))
    payment_record(deal=deal, amount=Decimal("2500.50"),
                   payment=PaymentInput(method="bank_transfer", paid_at=date(2026, 11, 24)))
    html = _html(school, Kind.RECEIPT, first.pk)
    for text in ("Подтверждение оплаты № 2026-", "Десять тысяч рублей 00 копеек", "Наличными",
                 "20\u00a0000,00", "Остаток задолженности"):
        assert text in html, text
    response = widget.client.get(f"/api/v1/payments/{first.pk}/receipt.pdf", HTTP_ACCEPT="application/pdf",
                                 **widget.headers())
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")


def test_asking_for_a_pdf_still_gets_errors_as_the_contract_json(widget, account):
    response = widget.client.get("/api/v1/invoices/424242/pdf", HTTP_ACCEPT="application/pdf",
                                 **widget.headers())
    assert_error(response, 404, "invoice_not_found")
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("kind", ["schedule", "contract", "offer"])
def test_a_deal_prints_its_schedule_contract_and_offer(issue_invoice, widget, kind):
    deal = issue_invoice().deal
    response = widget.get(f"/api/v1/deals/{deal.external_id}/documents/{kind}.pdf")
    assert response.status_code == 200, response.content[:300]
    assert response.content.startswith(b"%PDF")


def test_deal_printouts_refuse_unknown_kinds_deals_and_plans(school, widget):
    from billing.services import deal_get_or_create

    deal_get_or_create(account=school, external_id=777)
    assert_error(widget.get("/api/v1/deals/777/documents/invoice.pdf"), 404, "document_kind_not_found")
    assert_error(widget.get("/api/v1/deals/778/documents/schedule.pdf"), 404, "deal_not_found")
    assert_error(widget.get("/api/v1/deals/777/documents/schedule.pdf"), 422, "no_plan")
    assert widget.get("/api/v1/deals/777/documents/offer.pdf").status_code == 200


def test_a_changed_plan_makes_the_next_printout_fresh(issue_invoice, widget, school):
    deal = issue_invoice().deal
    widget.get(f"/api/v1/deals/{deal.external_id}/documents/schedule.pdf")
    before = StoredDocument.objects.get(kind="schedule", object_id=deal.pk).fingerprint
    payment_record(deal=deal, amount=Decimal("10000.00"), payment=PaymentInput(method="cash",
                                                                               paid_at=date(2026, 11, 24)))
    widget.get(f"/api/v1/deals/{deal.external_id}/documents/schedule.pdf")
    assert StoredDocument.objects.get(kind="schedule", object_id=deal.pk).fingerprint != before
