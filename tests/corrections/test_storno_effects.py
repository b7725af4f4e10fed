"""A storno's after-commit effects go through the event relay: the CRM note and, when the reversed payment
was reported to the tax service, a return receipt (IncomeReturn) for the storno."""
import pytest

from billing.events import PAYMENT_REVERSED
from billing.gateway.interface import ReceiptQueued
from billing.models import DomainEvent, EventDelivery, Payment
from billing.services.relay import events_relay_run
from crm.models import CrmAction

pytestmark = pytest.mark.django_db
LEAD = 31337


class Kassa:
    def __init__(self) -> None:
        self.receipts: list[tuple[str, str]] = []

    def create_receipt(self, receipt, *, request_id):
        self.receipts.append((request_id, receipt.receipt_type))
        return ReceiptQueued(f"rcpt-{len(self.receipts)}", {})


@pytest.fixture
def kassa(monkeypatch):
    fake = Kassa()
    monkeypatch.setattr("billing.services.receipts.gateway_for", lambda account: fake)
    return fake


def receipts_on(account) -> None:
    account.settings = {**account.settings,
                        "receipts": {"enabled": True, "inn": "7707083893", "taxation_system": 1}}
    account.save(update_fields=["settings"])


def cash_then_storno(widget, school_plan) -> tuple[Payment, Payment]:
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan).status_code == 200
    paid = widget.post(f"/api/v1/deals/{LEAD}/payments", {"amount": "15000.00", "method": "cash",
                                                         "paid_at": "2026-11-20"})
    payment_id = paid.json()["payments"][-1]["id"]
    events_relay_run()
    reversed_ = widget.post(f"/api/v1/payments/{payment_id}/reverse", {"reason": "не тот клиент"})
    assert reversed_.status_code == 201, reversed_.content
    return Payment.objects.get(pk=payment_id), Payment.objects.get(reversal_of_id=payment_id)


def test_the_storno_event_is_delivered_by_the_relay_to_the_crm_feed_and_the_receipts(widget, school_plan, kassa):
    _, storno = cash_then_storno(widget, school_plan)
    event = DomainEvent.objects.get(name=PAYMENT_REVERSED)
    assert set(EventDelivery.objects.filter(event=event).values_list("handler", flat=True)) >= {
        "widget_api.crm_feed", "billing.fiscal_receipt"}
    assert not CrmAction.objects.filter(source=PAYMENT_REVERSED).exists()  # nothing before the relay runs
    events_relay_run()
    assert set(EventDelivery.objects.filter(event=event).values_list("state", flat=True)) == {"done"}
    note = CrmAction.objects.get(source=PAYMENT_REVERSED, kind=CrmAction.Kind.ADD_NOTE)
    assert "15 000,00 ₽" in note.payload["text"].replace("\xa0", " ")
    assert "не тот клиент" in note.payload["text"]
    events_relay_run()
    assert CrmAction.objects.filter(source=PAYMENT_REVERSED, kind=CrmAction.Kind.ADD_NOTE).count() == 1
    assert storno.receipt_status == ""  # receipts are off for this account
    assert kassa.receipts == []


def test_a_reported_payment_reversed_gets_a_return_receipt_once(widget, school_plan, kassa, account):
    receipts_on(account)
    original, storno = cash_then_storno(widget, school_plan)
    assert original.receipt_status == "queued"
    assert storno.receipt_status == "pending"
    events_relay_run()
    events_relay_run()
    storno.refresh_from_db()
    assert storno.receipt_status == "queued"
    assert kassa.receipts == [(f"receipt:{account.pk}:{original.pk}", "Income"),
                              (f"receipt:{account.pk}:{storno.pk}", "IncomeReturn")]


def test_a_payment_never_reported_gets_no_return_receipt(widget, school_plan, kassa, account):
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan).status_code == 200
    paid = widget.post(f"/api/v1/deals/{LEAD}/payments", {"amount": "15000.00", "method": "cash",
                                                         "paid_at": "2026-11-20"})
    receipts_on(account)  # switched on after the payment: it was never reported
    payment_id = paid.json()["payments"][-1]["id"]
    assert widget.post(f"/api/v1/payments/{payment_id}/reverse", {"reason": "ошибка"}).status_code == 201
    events_relay_run()
    assert Payment.objects.get(reversal_of_id=payment_id).receipt_status == ""
    assert kassa.receipts == []
