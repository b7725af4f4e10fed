"""Operator tools for the gateway: replaying stored events, reconciling stuck invoices, fiscal receipts."""
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from billing.gateway.errors import GatewayUnavailable
from billing.gateway.interface import FoundPayment, ReceiptQueued
from billing.models import GatewayEvent, Invoice, Payment
from billing.services.invoicing import invoice_reconcile, invoices_stuck_creating
from billing.services.receipts import payment_receipt_send, receipt_for, receipt_settings
from tests.webhooks.conftest import pay_fields

pytestmark = pytest.mark.django_db


def test_replay_reprocesses_a_failed_event(notifier, invoiced, monkeypatch, settings):
    settings.PAYPLAN_PAY_HOT_PATH = False  # the general path's processing is what fails here
    monkeypatch.setattr("billing.services.webhooks.PROCESSORS",
                        {"pay": lambda event, note: (_ for _ in ()).throw(RuntimeError("bug"))})
    response = notifier.post("pay", pay_fields(invoiced))
    assert response.status_code == 503
    event = GatewayEvent.objects.get()
    assert event.status == "failed"
    assert not Payment.objects.exists()
    monkeypatch.undo()
    out = StringIO()
    call_command("payplan_webhook_replay", str(event.pk), stdout=out)
    assert "processed" in out.getvalue()
    assert Payment.objects.count() == 1


def test_a_failing_hot_path_leaves_the_pay_to_the_general_path(notifier, invoiced, monkeypatch):
    # A bug in the hot path's writes: its transaction rolls back whole and the general path records the Pay.
    monkeypatch.setattr("billing.services.pay_hot_path._writes",
                        lambda *args, **kwargs: (_ for _ in ()).throw(RuntimeError("bug")))
    response = notifier.post("pay", pay_fields(invoiced))
    assert response.json() == {"code": 0}
    assert GatewayEvent.objects.get().status == "processed"
    assert Payment.objects.count() == 1


def test_replay_of_a_processed_event_changes_nothing(notifier, invoiced):
    notifier.post("pay", pay_fields(invoiced))
    event = GatewayEvent.objects.get()
    call_command("payplan_webhook_replay", str(event.pk), "--force", stdout=StringIO())
    assert Payment.objects.count() == 1


def test_replay_refuses_a_forged_event_and_unknown_ids(notifier, invoiced):
    notifier.post("pay", pay_fields(invoiced), secret="forger")
    with pytest.raises(CommandError, match=r"bad signature|неверной подписью"):
        call_command("payplan_webhook_replay", str(GatewayEvent.objects.get().pk), stdout=StringIO())
    with pytest.raises(CommandError, match="No gateway event"):
        call_command("payplan_webhook_replay", "999999", stdout=StringIO())


def test_list_shows_events_that_need_attention(notifier, invoiced):
    notifier.post("pay", pay_fields(invoiced, InvoiceId="2026-777777"))
    out = StringIO()
    call_command("payplan_webhook_replay", "--list", stdout=out)
    assert "unmatched" in out.getvalue()


class ReconcilingGateway:
    def __init__(self, found=None):
        self.found = found
        self.created = []

    def find_payment(self, invoice_id):
        return self.found

    def create_order(self, order, *, request_id):
        from billing.gateway.interface import OrderCreated

        self.created.append(request_id)
        return OrderCreated("ord-new", "https://pay.test/d/ord-new", 2, "Created", {})


def _stuck(invoice: Invoice) -> Invoice:
    Invoice.objects.filter(pk=invoice.pk).update(status="creating", created_at=timezone.now() - timedelta(hours=2))
    invoice.refresh_from_db()
    return invoice


def test_a_stuck_invoice_is_reported_and_never_recreated_silently(invoiced):
    invoice = _stuck(invoiced)
    assert invoices_stuck_creating(account=invoice.account) == [invoice]
    gateway = ReconcilingGateway()
    result = invoice_reconcile(invoice_id=invoice.pk, gateway=gateway)
    assert result.outcome == "not_found"
    assert gateway.created == []


def test_reconcile_records_a_payment_found_by_invoice_id(invoiced):
    invoice = _stuck(invoiced)
    found = FoundPayment(transaction_id=555, status="Completed", amount=invoice.amount,
                         invoice_id=invoice.number, account_id=None, raw={})
    result = invoice_reconcile(invoice_id=invoice.pk, gateway=ReconcilingGateway(found))
    assert result.outcome == "paid"
    assert result.invoice.status == "paid"
    assert Payment.objects.get().transaction_id == "555"


def test_reconcile_with_recreate_uses_a_new_request_id(invoiced):
    invoice = _stuck(invoiced)
    gateway = ReconcilingGateway()
    result = invoice_reconcile(invoice_id=invoice.pk, recreate=True, gateway=gateway)
    assert result.outcome == "recreated"
    assert result.invoice.status == "issued"
    assert gateway.created == [f"order:{invoice.account_id}:{invoice.number}:2"]


class ReceiptGateway:
    def __init__(self, fail=False):
        self.sent = []
        self.fail = fail

    def create_receipt(self, receipt, *, request_id):
        if self.fail:
            raise GatewayUnavailable("kassa down")
        self.sent.append((receipt, request_id))
        return ReceiptQueued("rcpt-1", {})


@pytest.fixture
def receipts_on(account):
    account.settings = {"receipts": {"enabled": True, "inn": "7707083893", "taxation_system": 1}}
    account.save()
    return account


def test_a_recorded_payment_gets_a_fiscal_receipt_after_commit(receipts_on, notifier, invoiced, monkeypatch,
                                                              django_capture_on_commit_callbacks):
    gateway = ReceiptGateway()
    monkeypatch.setattr("billing.services.receipts.gateway_for", lambda account: gateway)
    with django_capture_on_commit_callbacks(execute=True):
        notifier.post("pay", pay_fields(invoiced))
    payment = Payment.objects.get()
    assert (payment.receipt_status, payment.receipt_id) == ("queued", "rcpt-1")
    receipt, request_id = gateway.sent[0]
    assert request_id == f"receipt:{payment.account_id}:{payment.pk}"
    assert receipt.inn == "7707083893"
    assert receipt.receipt_type == "Income"
    item = receipt.customer_receipt["Items"][0]
    assert (item["Price"], item["Amount"], item["Quantity"]) == (payment.amount, payment.amount, 1)
    assert receipt.customer_receipt["Amounts"] == {"Electronic": payment.amount}


def test_a_failing_receipt_never_blocks_the_payment(receipts_on, notifier, invoiced, monkeypatch):
    monkeypatch.setattr("billing.services.receipts.gateway_for", lambda account: ReceiptGateway(fail=True))
    assert notifier.post("pay", pay_fields(invoiced)).json() == {"code": 0}
    payment = Payment.objects.get()
    with pytest.raises(GatewayUnavailable):
        payment_receipt_send(payment_id=payment.pk)
    payment.refresh_from_db()
    assert (payment.receipt_status, payment.receipt_error) == ("failed", "kassa down")
    assert payment.receipt_attempts >= 1


def test_refund_receipts_are_income_return_and_cash_has_no_electronic_amount(receipts_on, invoiced):
    settings = receipt_settings(receipts_on)
    refund = Payment(account=receipts_on, deal=invoiced.deal, amount=-500, method="cloudpayments")
    assert receipt_for(refund, settings).receipt_type == "IncomeReturn"
    cash = Payment(account=receipts_on, deal=invoiced.deal, amount=500, method="cash")
    assert "Amounts" not in receipt_for(cash, settings).customer_receipt


def test_a_missing_inn_is_reported_not_sent(account, invoiced):
    account.settings = {"receipts": {"enabled": True}}
    account.save()
    payment = Payment.objects.create(account=account, deal=invoiced.deal, amount=100, method="cash",
                                     paid_at=timezone.now().date())
    payment_receipt_send(payment_id=payment.pk, gateway=ReceiptGateway())
    payment.refresh_from_db()
    assert (payment.receipt_status, payment.receipt_error) == ("failed", "The account's INN is not set.")
