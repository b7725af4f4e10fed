"""CloudPayments notifications crafted by hand from the public contract: accepted, replayed, rejected."""
import pytest

from billing.events import DEAL_PAID, PAYMENT_FAILED
from billing.gateway.signature import verify_notification
from billing.models import Deal, DomainEvent, GatewayEvent, Invoice, Payment
from tests.webhooks.conftest import content_hmac, pay_fields

pytestmark = pytest.mark.django_db


def test_contract_test_vector_signs_as_documented():
    body = b"TransactionId=1&Amount=10.00&Name=IVAN+PETROV&Data=%7B%22a%22%3A1%7D"
    assert content_hmac("sandbox_api_secret", body) == "iIcJGi1oDe2YR5f1MfijK922tRadUwX6YuLzn7zSkTg="
    decoded = b'TransactionId=1&Amount=10.00&Name=IVAN PETROV&Data={"a":1}'
    assert content_hmac("sandbox_api_secret", decoded) == "lu6sLnXU0bFOxKIyUhlhKFBaDfU+f3ltnfMn+QLDuW0="
    assert verify_notification("sandbox_api_secret", body, "iIcJGi1oDe2YR5f1MfijK922tRadUwX6YuLzn7zSkTg=", None)
    assert verify_notification("sandbox_api_secret", body, None, "lu6sLnXU0bFOxKIyUhlhKFBaDfU+f3ltnfMn+QLDuW0=")


def test_pay_records_the_payment_and_marks_the_invoice_paid(notifier, invoiced):
    response = notifier.post("pay", pay_fields(invoiced))
    assert response.status_code == 200
    assert response.json() == {"code": 0}
    payment = Payment.objects.get()
    assert (payment.amount, payment.method, payment.transaction_id) == (10000, "cloudpayments", "1001")
    assert payment.card_token == "tk_test_4242"
    invoiced.refresh_from_db()
    assert invoiced.status == "paid"
    deal = Deal.objects.get(pk=invoiced.deal_id)
    assert deal.debt == 20000
    assert deal.schedules.get().installments.get(seq=1).paid == 10000
    assert GatewayEvent.objects.get().status == "processed"


@pytest.mark.parametrize("only", ["raw", "x"])
def test_either_hmac_header_alone_is_enough(notifier, invoiced, only):
    assert notifier.post("pay", pay_fields(invoiced), only=only).json() == {"code": 0}
    assert Payment.objects.count() == 1


def test_replayed_pay_answers_zero_and_changes_nothing(notifier, invoiced):
    for _ in range(3):
        assert notifier.post("pay", pay_fields(invoiced)).json() == {"code": 0}
    assert Payment.objects.count() == 1
    event = GatewayEvent.objects.get()
    assert event.replays == 2


def test_tampered_body_is_401_stored_as_rejected_and_not_processed(notifier, invoiced):
    response = notifier.post("pay", pay_fields(invoiced), tamper=True)
    assert response.status_code == 401
    assert not Payment.objects.exists()
    assert GatewayEvent.objects.get().status == "rejected"


def test_wrong_secret_is_401(notifier, invoiced):
    assert notifier.post("pay", pay_fields(invoiced), secret="another-secret").status_code == 401
    assert not Payment.objects.exists()


def test_a_rejected_forgery_does_not_block_the_genuine_notification(notifier, invoiced):
    notifier.post("pay", pay_fields(invoiced), secret="forger")
    assert notifier.post("pay", pay_fields(invoiced)).json() == {"code": 0}
    assert Payment.objects.count() == 1


def test_unknown_account_key_is_404(notifier, invoiced):
    assert notifier.post("pay", pay_fields(invoiced), key="nope").status_code == 404


def test_unknown_kind_is_404(notifier, invoiced):
    assert notifier.post("payout", pay_fields(invoiced)).status_code == 404


def test_paying_the_last_invoice_makes_the_deal_paid(notifier, invoiced):
    deal = invoiced.deal
    notifier.post("pay", pay_fields(invoiced, amount="30000.00"))
    deal.refresh_from_db()
    assert deal.status == "paid"
    assert DomainEvent.objects.filter(name=DEAL_PAID).count() == 1


def test_pay_for_another_amount_is_recorded_as_paid(notifier, invoiced):
    notifier.post("pay", pay_fields(invoiced, amount="7000.50"))
    assert str(Payment.objects.get().amount) == "7000.50"


def test_overpayment_through_the_gateway_is_kept_as_credit(notifier, invoiced):
    notifier.post("pay", pay_fields(invoiced, amount="35000.00"))
    deal = Deal.objects.get(pk=invoiced.deal_id)
    assert deal.paid == 35000
    assert deal.debt == -5000
    assert deal.status == "paid"


def test_unknown_invoice_with_a_valid_signature_is_stored_answered_and_listed(notifier, invoiced):
    response = notifier.post("pay", pay_fields(invoiced, InvoiceId="2026-999999"))
    assert response.json() == {"code": 0}
    assert not Payment.objects.exists()
    assert GatewayEvent.objects.get().status == "unmatched"


@pytest.mark.parametrize(("change", "field"), [
    ({"Amount": "10000,00"}, "Amount"),
    ({"Amount": "ten"}, "Amount"),
    ({"Amount": ""}, "Amount"),
    ({"Amount": "-5.00"}, "Amount"),
    ({"TransactionId": "abc"}, "TransactionId"),
    ({"TransactionId": ""}, "TransactionId"),
    ({"Currency": "USD"}, "Currency"),
    ({"DateTime": "24.11.2026"}, "DateTime"),
])
def test_malformed_pay_is_a_clear_error_and_records_nothing(notifier, invoiced, change, field):
    response = notifier.post("pay", pay_fields(invoiced, **change))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] != 0
    assert field in body["error"]["fields"]
    assert not Payment.objects.exists()
    invoiced.refresh_from_db()
    assert invoiced.status == "issued"


def test_fail_keeps_the_reason_on_the_invoice_and_is_not_final(notifier, invoiced):
    fail = pay_fields(invoiced, TransactionId="2001", Reason="InsufficientFunds", ReasonCode="5051")
    assert notifier.post("fail", fail).json() == {"code": 0}
    invoiced.refresh_from_db()
    assert invoiced.status == "issued"
    assert invoiced.last_failure_reason == "InsufficientFunds (5051)"
    assert invoiced.failed_attempts == 1
    assert DomainEvent.objects.filter(name=PAYMENT_FAILED).count() == 1
    assert notifier.post("pay", pay_fields(invoiced, TransactionId="2002")).json() == {"code": 0}
    invoiced.refresh_from_db()
    assert invoiced.status == "paid"


def test_refund_adds_a_negative_payment_and_reopens_the_debt(notifier, invoiced):
    notifier.post("pay", pay_fields(invoiced, amount="30000.00"))
    refund = {"TransactionId": "3001", "PaymentTransactionId": "1001", "Amount": "5000.00",
              "DateTime": "2026-11-25 09:00:00", "OperationType": "Refund", "InvoiceId": invoiced.number,
              "AccountId": str(invoiced.deal.external_id), "Email": "", "Data": "", "Rrn": ""}
    assert notifier.post("refund", refund).json() == {"code": 0}
    assert notifier.post("refund", refund).json() == {"code": 0}
    deal = Deal.objects.get(pk=invoiced.deal_id)
    assert deal.debt == 5000
    assert deal.status == "active"
    negative = Payment.objects.get(amount__lt=0)
    assert (negative.amount, negative.refund_of.transaction_id) == (-5000, "1001")


def test_refund_larger_than_the_payment_is_refused(notifier, invoiced):
    notifier.post("pay", pay_fields(invoiced))
    refund = {"TransactionId": "3001", "PaymentTransactionId": "1001", "Amount": "10000.01",
              "DateTime": "2026-11-25 09:00:00"}
    assert notifier.post("refund", refund).status_code == 400
    assert Payment.objects.count() == 1


def test_two_stage_pay_waits_for_confirm(notifier, invoiced):
    notifier.post("pay", pay_fields(invoiced, Status="Authorized"))
    assert not Payment.objects.exists()
    notifier.post("confirm", pay_fields(invoiced, Status="Completed"))
    assert Payment.objects.count() == 1


def test_cancel_of_a_hold_records_nothing(notifier, invoiced):
    notifier.post("pay", pay_fields(invoiced, Status="Authorized"))
    cancel = {"TransactionId": "1001", "Amount": "10000.00", "DateTime": "2026-11-24 10:20:00",
              "InvoiceId": invoiced.number}
    assert notifier.post("cancel", cancel).json() == {"code": 0}
    assert not Payment.objects.exists()


@pytest.mark.parametrize(("change", "code"), [
    ({}, 0),
    ({"InvoiceId": "2026-424242"}, 10),
    ({"InvoiceId": ""}, 10),
    ({"AccountId": "999"}, 11),
    ({"Amount": "9999.99"}, 12),
])
def test_check_answers_the_contract_codes(notifier, invoiced, change, code):
    assert notifier.post("check", pay_fields(invoiced, **change)).json() == {"code": code}
    assert not Payment.objects.exists()


def test_check_for_a_paid_or_cancelled_invoice_is_13(notifier, invoiced):
    Invoice.objects.filter(pk=invoiced.pk).update(status="cancelled")
    assert notifier.post("check", pay_fields(invoiced)).json() == {"code": 13}
    Invoice.objects.filter(pk=invoiced.pk).update(status="expired")
    assert notifier.post("check", pay_fields(invoiced)).json() == {"code": 20}


def test_json_bodies_are_accepted_too(notifier, invoiced):
    import json

    body = json.dumps(pay_fields(invoiced)).encode()
    secret = notifier.account.cloudpayments_api_secret
    response = notifier.client.post(f"/webhooks/cloudpayments/{notifier.account.webhook_key}/pay", body,
                                    content_type="application/json", HTTP_CONTENT_HMAC=content_hmac(secret, body))
    assert response.json() == {"code": 0}
    assert Payment.objects.count() == 1


def test_get_is_not_allowed(notifier, invoiced):
    response = notifier.client.get(f"/webhooks/cloudpayments/{notifier.account.webhook_key}/pay")
    assert response.status_code == 405


def test_non_utf8_body_with_valid_signature_is_a_clear_error(notifier, invoiced):
    body = b"TransactionId=1&Amount=\xff"
    secret = notifier.account.cloudpayments_api_secret
    response = notifier.client.post(f"/webhooks/cloudpayments/{notifier.account.webhook_key}/pay", body,
                                    content_type="application/x-www-form-urlencoded",
                                    HTTP_CONTENT_HMAC=content_hmac(secret, body))
    assert response.status_code == 400
    assert response.json()["code"] != 0
    assert response.json()["error"]["message"]
    assert not Payment.objects.exists()
