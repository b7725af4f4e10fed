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
