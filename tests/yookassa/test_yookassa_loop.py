"""The whole YooKassa loop over real HTTP: invoice → payment → notification (re-read from the API) → recorded."""
from collections import Counter

import pytest
import requests

from billing.models import Deal, GatewayEvent, Invoice, Payment
from tests.threads import run_together
from tests.yookassa.conftest import SHOP_ID, AdminClient, issue_invoice, put_plan

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def _payment(sandbox, invoice: Invoice) -> dict:
    return sandbox.payments[invoice.gateway_order_id]


def test_an_invoice_on_yookassa_is_a_payment_with_a_deterministic_idempotence_key(yookassa_account, yookassa):
    put_plan(yookassa_account, 8001)
    body = issue_invoice(yookassa_account, 8001)
    invoice = Invoice.objects.get(pk=body["id"])
    assert invoice.gateway == "yookassa"
    assert invoice.status == "issued"
    assert invoice.payment_url.startswith(yookassa.url + "/checkout/")
    created = [call for call in yookassa.journal if call["method"] == "POST" and call["path"] == "/v3/payments"]
    assert len(created) == 1
    assert created[0]["headers"]["Idempotence-Key"] == invoice.gateway_request_id
    assert '"value":"10000.00"' in created[0]["body"]  # a string with two decimals, never a float
    sent = _payment(yookassa, invoice)
    assert sent["metadata"]["payplan_reference"] == invoice.number
    assert sent["confirmation"]["type"] == "redirect"


def test_pay_notification_records_the_payment_once_and_the_deal_ends_paid(yookassa_account, yookassa):
    put_plan(yookassa_account, 8002, installments_count=1)
    invoice = Invoice.objects.get(pk=issue_invoice(yookassa_account, 8002)["id"])
    paid = yookassa.pay(invoice.gateway_order_id)
    assert [delivery["accepted"] for delivery in paid["deliveries"]] == [True]
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    payment = Payment.objects.get(deal__external_id=8002)
    assert (payment.method, payment.transaction_id, payment.amount) == ("yookassa", invoice.gateway_order_id, 60000)
    assert "ЮKassa" in payment.comment or "YooKassa" in payment.comment
    deal = Deal.objects.get(external_id=8002)
    assert (deal.status, deal.debt) == ("paid", 0)
    # YooKassa read the payment back before trusting it: a GET of the very object.
    assert any(call["method"] == "GET" and call["path"] == f"/v3/payments/{invoice.gateway_order_id}"
               for call in yookassa.journal)


def test_twenty_duplicate_and_racing_notifications_record_one_payment(yookassa_account, yookassa, live_server):
    put_plan(yookassa_account, 8003)
    invoice = Invoice.objects.get(pk=issue_invoice(yookassa_account, 8003)["id"])
    yookassa.set_faults(notify=False)
    paid = yookassa.pay(invoice.gateway_order_id)
    body = yookassa.notification_body("payment.succeeded", paid["payment"])
    url = f"{live_server.url}/webhooks/yookassa/{yookassa_account.webhook_key}"
    answers = run_together([lambda: requests.post(url, data=body, timeout=30) for _ in range(20)])
    assert Counter(answer.status_code for answer in answers) == {200: 20}
    for _ in range(20):
        assert requests.post(url, data=body, timeout=30).status_code == 200
    assert Payment.objects.filter(transaction_id=invoice.gateway_order_id).count() == 1
    assert GatewayEvent.objects.filter(gateway="yookassa", kind="payment.succeeded").count() == 1
    assert Deal.objects.get(external_id=8003).paid == 10000


def test_a_forged_notification_the_api_does_not_confirm_changes_nothing(yookassa_account, yookassa, live_server):
    put_plan(yookassa_account, 8004)
    invoice = Invoice.objects.get(pk=issue_invoice(yookassa_account, 8004)["id"])
    url = f"{live_server.url}/webhooks/yookassa/{yookassa_account.webhook_key}"
    pending = _payment(yookassa, invoice)  # the payer has not paid: the API says pending
    forged = {**pending, "status": "succeeded", "paid": True}
    assert requests.post(url, json={"type": "notification", "event": "payment.succeeded", "object": forged},
                         timeout=10).status_code == 403
    unknown = {**forged, "id": "2d0b0c4e-000f-5000-8000-1a2b3c4d5e6f"}
    assert requests.post(url, json={"type": "notification", "event": "payment.succeeded", "object": unknown},
                         timeout=10).status_code == 403
    yookassa.set_faults(notify=False)
    yookassa.pay(invoice.gateway_order_id)
    wrong_amount = {**_payment(yookassa, invoice), "amount": {"value": "1.00", "currency": "RUB"}}
    assert requests.post(url, json={"type": "notification", "event": "payment.succeeded", "object": wrong_amount},
                         timeout=10).status_code == 403
    assert requests.post(url, data=b"not json", timeout=10).status_code == 400
    assert not Payment.objects.exists()
    assert Invoice.objects.get(pk=invoice.pk).status == "issued"
    refused = GatewayEvent.objects.filter(gateway="yookassa")
    assert refused.count() == 4
    assert not refused.filter(signature_valid=True).exists()
    assert set(refused.values_list("status", flat=True)) == {"rejected", "invalid"}


def test_a_notification_from_outside_yookassas_networks_is_refused_unread(yookassa_account, yookassa, live_server,
                                                                        settings):
    put_plan(yookassa_account, 8005)
    invoice = Invoice.objects.get(pk=issue_invoice(yookassa_account, 8005)["id"])
    settings.YOOKASSA_NOTIFICATION_NETWORKS = ["185.71.76.0/27"]
    yookassa.set_faults(notify=False)
    paid = yookassa.pay(invoice.gateway_order_id)
    url = f"{live_server.url}/webhooks/yookassa/{yookassa_account.webhook_key}"
    answer = requests.post(url, data=yookassa.notification_body("payment.succeeded", paid["payment"]), timeout=10)
    assert answer.status_code == 403
    assert not Payment.objects.exists()
    assert not any(call["method"] == "GET" for call in yookassa.journal)  # refused before any API call


def test_the_api_down_during_the_check_answers_503_and_the_retry_records(yookassa_account, yookassa):
    put_plan(yookassa_account, 8006)
    invoice = Invoice.objects.get(pk=issue_invoice(yookassa_account, 8006)["id"])
    yookassa.set_faults(fail_next=4, status=500)  # more than our retries: the first delivery gets a 503
    paid = yookassa.pay(invoice.gateway_order_id)
    statuses = [delivery["status"] for delivery in paid["deliveries"]]
    assert paid["deliveries"][0]["accepted"]
    assert statuses == [200]
    assert paid["deliveries"][0]["attempts"] == 2
    assert Payment.objects.filter(transaction_id=invoice.gateway_order_id).count() == 1


def test_a_declined_payment_keeps_the_reason_in_russian_and_the_link_payable(yookassa_account, yookassa):
    put_plan(yookassa_account, 8007)
    invoice = Invoice.objects.get(pk=issue_invoice(yookassa_account, 8007)["id"])
    declined = yookassa.decline(invoice.gateway_order_id, "insufficient_funds")
    assert declined["deliveries"][0]["accepted"]
    invoice.refresh_from_db()
    assert invoice.status == "issued"
    assert (invoice.last_failure_code, invoice.failed_attempts) == (5051, 1)
    assert not Payment.objects.exists()


def test_refund_from_the_card_goes_back_through_yookassa_once(yookassa_account, yookassa):
    put_plan(yookassa_account, 8008)
    invoice = Invoice.objects.get(pk=issue_invoice(yookassa_account, 8008)["id"])
    yookassa.pay(invoice.gateway_order_id)
    payment = Payment.objects.get(transaction_id=invoice.gateway_order_id)
    admin = AdminClient(yookassa_account)
    response = admin.post(f"/api/v1/payments/{payment.pk}/refund",
                          {"amount": "4000.00", "reason": "клиент передумал"}, idempotency_key="refund-8008")
    assert response.status_code in (200, 201), response.content
    refunds = Payment.objects.filter(refund_of=payment)
    assert [refund.amount for refund in refunds] == [-4000]
    sent = [call for call in yookassa.journal if call["path"] == "/v3/refunds"]
    assert len(sent) == 1
    assert '"payment_id":"' + payment.transaction_id + '"' in sent[0]["body"]
    # The refund.succeeded notification (re-read from the API) finds the same refund: still one.
    yookassa.settle()
    assert any(delivery["event"] == "refund.succeeded" and delivery["accepted"]
               for delivery in yookassa.store.deliveries)
    assert Payment.objects.filter(refund_of=payment).count() == 1
    assert Deal.objects.get(external_id=8008).paid == 6000


def test_the_payment_of_another_shop_is_not_trusted(yookassa_account, yookassa, live_server):
    from sandboxes.yookassa.store import Shop

    yookassa.store.shops["777"] = Shop("777", "test_other_key", None)
    other = requests.post(f"{yookassa.api_url}payments", auth=("777", "test_other_key"),
                          headers={"Idempotence-Key": "other-1"},
                          json={"amount": {"value": "10000.00", "currency": "RUB"}, "capture": True,
                                "confirmation": {"type": "redirect", "return_url": "https://x.test/"}},
                          timeout=10).json()
    url = f"{live_server.url}/webhooks/yookassa/{yookassa_account.webhook_key}"
    forged = {**other, "status": "succeeded", "recipient": {"account_id": SHOP_ID}}
    assert requests.post(url, json={"type": "notification", "event": "payment.succeeded", "object": forged},
                         timeout=10).status_code == 403
    assert not Payment.objects.exists()


def test_with_receipts_on_the_payment_carries_its_54fz_receipt(yookassa_account, yookassa):
    from billing.services.account_settings import account_settings_change

    account_settings_change(account=yookassa_account, changes={
        "receipts": {"enabled": True, "inn": "7701234567", "taxation_system": 1, "vat": None}})
    put_plan(yookassa_account, 8009)
    Deal.objects.filter(external_id=8009).update(contact_email="anna@example.ru")
    invoice = Invoice.objects.get(pk=issue_invoice(yookassa_account, 8009)["id"])
    receipt = _payment(yookassa, invoice)["receipt"]
    assert receipt["customer"] == {"email": "anna@example.ru"}
    assert receipt["tax_system_code"] == 2  # УСН доходы
    assert receipt["items"][0]["amount"] == {"value": "10000.00", "currency": "RUB"}
    assert receipt["items"][0]["vat_code"] == 1  # без НДС
    yookassa.pay(invoice.gateway_order_id)
    payment = Payment.objects.get(transaction_id=invoice.gateway_order_id)
    assert payment.receipt_status == ""  # no second receipt through CloudKassir


def test_a_stored_event_replays_with_the_same_command_and_changes_nothing_twice(yookassa_account, yookassa):
    from io import StringIO

    from django.core.management import call_command

    put_plan(yookassa_account, 8010)
    invoice = Invoice.objects.get(pk=issue_invoice(yookassa_account, 8010)["id"])
    yookassa.pay(invoice.gateway_order_id)
    event = GatewayEvent.objects.get(gateway="yookassa", kind="payment.succeeded")
    assert event.headers["verified_object"]["id"] == invoice.gateway_order_id
    GatewayEvent.objects.filter(pk=event.pk).update(status="failed")  # as if processing had crashed
    out = StringIO()
    call_command("payplan_webhook_replay", str(event.pk), stdout=out)
    assert "processed" in out.getvalue()
    call_command("payplan_webhook_replay", str(event.pk), "--force", stdout=StringIO())
    assert Payment.objects.filter(transaction_id=invoice.gateway_order_id).count() == 1
