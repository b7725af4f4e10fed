"""Pay means what was paid (short payments stay payable, foreign AccountIds and TestMode are held),
and payouts are not income (no fiscal receipt for an outgoing plan)."""
from decimal import Decimal

import pytest

from billing.models import Account, Deal, GatewayEvent, Payment
from billing.services.receipts import payment_receipt_send
from tests.webhooks.conftest import pay_fields

pytestmark = pytest.mark.django_db


def test_a_short_pay_is_a_partial_payment_and_the_invoice_stays_payable_for_the_rest(notifier, invoiced):
    assert notifier.post("pay", pay_fields(invoiced, amount="4000.00")).json() == {"code": 0}
    assert Payment.objects.get().amount == Decimal("4000.00")
    invoiced.refresh_from_db()
    assert (invoiced.status, invoiced.paid_amount) == ("issued", Decimal("4000.00"))
    assert Deal.objects.get(pk=invoiced.deal_id).debt == Decimal("26000.00")
    # The remainder is what a Check must agree to now; the full amount is no longer right.
    assert notifier.post("check", pay_fields(invoiced, transaction_id=1002, amount="6000.00")).json() == {"code": 0}
    assert notifier.post("check", pay_fields(invoiced, transaction_id=1002, amount="10000.00")).json() == {"code": 12}
    assert notifier.post("pay", pay_fields(invoiced, transaction_id=1002, amount="6000.00")).json() == {"code": 0}
    invoiced.refresh_from_db()
    assert (invoiced.status, invoiced.paid_amount) == ("paid", Decimal("10000.00"))


def test_a_short_confirm_is_a_partial_payment_too(notifier, invoiced):
    notifier.post("confirm", pay_fields(invoiced, amount="2500.50"))
    invoiced.refresh_from_db()
    assert (invoiced.status, invoiced.paid_amount) == ("issued", Decimal("2500.50"))


def test_a_larger_pay_marks_the_invoice_paid_and_keeps_the_excess_as_credit(notifier, invoiced):
    notifier.post("pay", pay_fields(invoiced, amount="35000.00"))
    invoiced.refresh_from_db()
    assert (invoiced.status, invoiced.paid_amount) == ("paid", Decimal("35000.00"))
    assert Deal.objects.get(pk=invoiced.deal_id).debt == Decimal("-5000.00")


@pytest.mark.parametrize("kind", ["pay", "confirm"])
def test_a_wrong_account_id_is_held_as_unmatched_and_books_nothing(notifier, invoiced, kind):
    assert notifier.post(kind, pay_fields(invoiced, AccountId="999999")).json() == {"code": 0}
    assert not Payment.objects.exists()
    event = GatewayEvent.objects.get()
    assert event.status == "unmatched"
    assert "999999" in event.error
    invoiced.refresh_from_db()
    assert (invoiced.status, invoiced.paid_amount) == ("issued", 0)


def test_a_missing_account_id_is_still_booked(notifier, invoiced):
    notifier.post("pay", pay_fields(invoiced, AccountId=""))
    assert Payment.objects.count() == 1


@pytest.mark.parametrize("flag", ["1", "true", "True"])
@pytest.mark.parametrize("kind", ["pay", "confirm"])
def test_test_mode_money_on_a_live_account_is_stored_and_shown_never_counted(notifier, invoiced, widget, kind, flag):
    assert notifier.post(kind, pay_fields(invoiced, TestMode=flag)).json() == {"code": 0}
    assert not Payment.objects.exists()
    assert GatewayEvent.objects.get().status == "test_mode"
    invoiced.refresh_from_db()
    assert (invoiced.status, invoiced.paid_amount) == ("issued", 0)
    last = widget.get("/api/v1/account/settings").json()["cloudpayments"]["last_notification"]
    assert (last["kind"], last["status"]) == (kind, "test_mode")
    # A CloudPayments retry of it stays what it was.
    assert notifier.post(kind, pay_fields(invoiced, TestMode=flag)).json() == {"code": 0}
    assert not Payment.objects.exists()


def test_test_mode_refunds_and_fails_on_a_live_account_change_nothing(notifier, invoiced):
    notifier.post("pay", pay_fields(invoiced))
    refund = {"TransactionId": "2001", "PaymentTransactionId": "1001", "Amount": "10000.00",
              "DateTime": "2026-11-24 12:00:00", "InvoiceId": invoiced.number, "TestMode": "1"}
    notifier.post("refund", refund)
    notifier.post("fail", pay_fields(invoiced, transaction_id=1003, TestMode="1", Reason="x", ReasonCode="5051"))
    assert list(Payment.objects.values_list("amount", flat=True)) == [Decimal("10000.00")]
    invoiced.refresh_from_db()
    assert invoiced.failed_attempts == 0


def test_test_mode_money_counts_on_an_account_in_test_mode(notifier, invoiced, account):
    Account.objects.filter(pk=account.pk).update(cloudpayments_test_mode=True)
    assert notifier.post("pay", pay_fields(invoiced, TestMode="1")).json() == {"code": 0}
    assert Payment.objects.get().amount == Decimal("10000.00")
    assert GatewayEvent.objects.get().status == "processed"


# ---- payouts are not income ----------------------------------------------------------------------

class ReceiptGateway:
    def __init__(self):
        self.sent = []

    def create_receipt(self, receipt, *, request_id):
        from billing.gateway.interface import ReceiptQueued

        self.sent.append(receipt)
        return ReceiptQueued("rcpt-1", {})


@pytest.fixture
def receipts_gateway(account, monkeypatch):
    account.settings = {"receipts": {"enabled": True, "inn": "7707083893", "taxation_system": 1}}
    account.save()
    gateway = ReceiptGateway()
    monkeypatch.setattr("billing.services.receipts.gateway_for", lambda account: gateway)
    return gateway


def _record(widget, school_plan, direction: str, django_capture_on_commit_callbacks):
    assert widget.put("/api/v1/deals/777/schedule", {**school_plan, "direction": direction}).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = widget.post("/api/v1/deals/777/payments",
                               {"amount": "1000.00", "method": "bank_transfer", "paid_at": "2026-11-20"})
    assert response.status_code == 201, response.content
    return Payment.objects.get()


def test_an_offline_payout_of_an_outgoing_plan_is_never_queued_for_a_receipt(receipts_gateway, widget, school_plan,
                                                                            django_capture_on_commit_callbacks):
    payment = _record(widget, school_plan, "outgoing", django_capture_on_commit_callbacks)
    assert receipts_gateway.sent == []  # the relay ran on commit: its receipt handler found nothing to send
    payment.refresh_from_db()
    assert payment.receipt_status == ""


def test_an_offline_payment_of_an_incoming_plan_still_gets_its_receipt(receipts_gateway, widget, school_plan,
                                                                       django_capture_on_commit_callbacks):
    payment = _record(widget, school_plan, "incoming", django_capture_on_commit_callbacks)
    assert len(receipts_gateway.sent) == 1  # flagged in the payment's transaction, sent by the relay on commit
    payment.refresh_from_db()
    assert payment.receipt_status not in ("", "pending")


def test_sending_a_receipt_for_a_payout_by_any_path_sends_nothing(receipts_gateway, widget, school_plan,
                                                                 django_capture_on_commit_callbacks):
    payment = _record(widget, school_plan, "outgoing", django_capture_on_commit_callbacks)
    Payment.objects.filter(pk=payment.pk).update(receipt_status="pending")  # e.g. flagged before the guard
    payment_receipt_send(payment_id=payment.pk)
    assert receipts_gateway.sent == []
    payment.refresh_from_db()
    assert payment.receipt_status == ""
