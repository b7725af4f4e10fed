"""SBP through YooKassa: the client page's «Оплатить через СБП» makes an SBP payment (payment_method_data sbp)
for the next invoice, once; its notification records the payment against that invoice."""
import pytest
from django.test import Client

from billing.client_links import client_page_path
from billing.models import Deal, Invoice, Payment
from billing.services.account_settings import account_settings_change
from tests.yookassa.conftest import put_plan

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def sbp_on(yookassa_account):
    return account_settings_change(account=yookassa_account, changes={"gateways": {"sbp": "yookassa"}})


def test_the_client_pays_by_sbp_from_their_page_and_the_payment_is_recorded_once(sbp_on, yookassa):
    put_plan(sbp_on, 8201)
    deal = Deal.objects.get(external_id=8201)
    page = Client().get(client_page_path(deal))
    assert 'data-action="pay-sbp"' in page.content.decode()
    answers = [Client().post(client_page_path(deal) + "/pay/sbp") for _ in range(2)]
    assert [answer.status_code for answer in answers] == [200, 200]
    invoice = Invoice.objects.get(deal=deal)
    assert invoice.sbp_url in answers[0].content.decode()
    assert invoice.sbp_url == yookassa.url + f"/checkout/{invoice.sbp_order_id}"
    sbp = yookassa.payments[invoice.sbp_order_id]
    assert sbp["payment_method"]["type"] == "sbp"
    sbp_calls = [call for call in yookassa.journal if call["path"] == "/v3/payments" and '"sbp"' in call["body"]]
    assert len(sbp_calls) == 1  # the second click reuses the payment
    assert '"payment_method_data":{"type":"sbp"}' in sbp_calls[0]["body"]
    paid = yookassa.pay(invoice.sbp_order_id)
    assert paid["deliveries"][0]["accepted"]
    payment = Payment.objects.get(deal=deal)
    assert (payment.transaction_id, payment.invoice_id, payment.method) == (invoice.sbp_order_id, invoice.pk,
                                                                            "yookassa")
    assert "СБП" in payment.comment or "SBP" in payment.comment
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_without_an_sbp_gateway_the_page_offers_no_sbp(yookassa_account, yookassa):
    put_plan(yookassa_account, 8202)
    deal = Deal.objects.get(external_id=8202)
    assert 'data-action="pay-sbp"' not in Client().get(client_page_path(deal)).content.decode()
    answer = Client().post(client_page_path(deal) + "/pay/sbp")
    assert answer.status_code == 422
    assert not any('"sbp"' in call["body"] for call in yookassa.journal)


def test_the_invoice_pdf_shows_the_sbp_qr_which_opens_that_invoices_sbp_payment_once(sbp_on, yookassa, settings):
    from urllib.parse import urlsplit

    from documents.kinds import Kind
    from documents.qr import qr_data_uri
    from documents.safe_render import render_template
    from documents.selectors import default_template_source, document_subject_get
    from tests.yookassa.conftest import issue_invoice

    put_plan(sbp_on, 8203)
    issued = issue_invoice(sbp_on, 8203)
    invoice = Invoice.objects.get(pk=issued["id"])
    subject = document_subject_get(account=sbp_on, kind=Kind.INVOICE, object_id=invoice.pk)
    link = subject.variables["invoice"]["sbp_url"]
    assert link.endswith(f"/invoices/{invoice.pk}/sbp")
    html = render_template(default_template_source(Kind.INVOICE), subject.variables)
    assert qr_data_uri(link) in html
    assert qr_data_uri(invoice.payment_url) in html  # the card link's QR stays
    assert "Оплатить через СБП" in html

    answers = [Client().get(urlsplit(link).path) for _ in range(2)]  # two scans
    assert [answer.status_code for answer in answers] == [200, 200]
    invoice.refresh_from_db()
    assert invoice.sbp_url in answers[0].content.decode()
    assert yookassa.payments[invoice.sbp_order_id]["payment_method"]["type"] == "sbp"
    assert len([call for call in yookassa.journal if '"sbp"' in call.get("body", "")]) == 1
    again = document_subject_get(account=sbp_on, kind=Kind.INVOICE, object_id=invoice.pk)
    assert again.variables["invoice"]["sbp_url"] == invoice.sbp_url  # a re-rendered PDF shows the payment itself
    other = Deal.objects.get(external_id=8203)
    assert Client().get(client_page_path(other) + "/invoices/999999/sbp").status_code == 404


def test_without_sbp_the_invoice_pdf_has_no_sbp_qr(yookassa_account, yookassa):
    from documents.kinds import Kind
    from documents.selectors import document_subject_get
    from tests.yookassa.conftest import issue_invoice

    put_plan(yookassa_account, 8204)
    issued = issue_invoice(yookassa_account, 8204)
    subject = document_subject_get(account=yookassa_account, kind=Kind.INVOICE, object_id=issued["id"])
    assert subject.variables["invoice"]["sbp_url"] == ""
