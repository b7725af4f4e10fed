"""No lock is held across a call to an outside system (real PostgreSQL, threads, committed transactions).

An invoice issued with an Idempotency-Key commits its `creating` row (number, request id) before the
gateway is called, holds neither the deal row nor the invoice counter during the call, and keeps its
number and order when the request fails after the gateway answered.
"""
import threading

import pytest
from django.db import connection, connections, transaction
from django.db.utils import OperationalError

from billing.gateway.interface import OrderCreated
from billing.models import Deal, IdempotencyRecord, Invoice, InvoiceCounter
from tests.conftest import WidgetClient, assert_error

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
LEAD = 31337
INVOICES = f"/api/v1/deals/{LEAD}/invoices"


class BlockingGateway:
    """Answers orders/create only when the test lets it: the call is held mid-flight."""

    def __init__(self) -> None:
        self.in_flight = threading.Event()
        self.release = threading.Event()
        self.request_ids: list[str] = []

    def create_order(self, order, *, request_id):
        self.request_ids.append(request_id)
        self.in_flight.set()
        assert self.release.wait(timeout=30), "the test never released the gateway call"
        order_id = f"ord-{len(self.request_ids)}"
        return OrderCreated(order_id, f"https://pay.test/d/{order_id}", 1, "Created", {})

    def cancel_order(self, order_id, *, request_id):
        pass


@pytest.fixture
def gateway(monkeypatch):
    fake = BlockingGateway()
    monkeypatch.setattr("billing.services.invoicing.gateway_for", lambda account: fake)
    return fake


@pytest.fixture
def planned(account, school_plan):
    widget = WidgetClient(account)
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan).status_code == 200
    return widget


def _in_thread(call) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run():
        try:
            result["response"] = call()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def _lock_nowait(account) -> None:
    """From a connection of its own: the deal row and the account's invoice counter, without waiting."""
    probe = connections.create_connection("default")
    try:
        with probe.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT id FROM billing_deal WHERE account_id = %s AND external_id = %s FOR UPDATE NOWAIT",
                           [account.pk, LEAD])
            assert cursor.fetchone() is not None
            cursor.execute("SELECT id FROM billing_invoicecounter WHERE account_id = %s FOR UPDATE NOWAIT",
                           [account.pk])
            assert cursor.fetchone() is not None
            cursor.execute("ROLLBACK")
    finally:
        probe.close()


def test_the_deal_and_the_invoice_counter_stay_unlocked_while_the_gateway_call_is_in_flight(
        account, planned, gateway, settings):
    settings.IDEMPOTENCY_IN_PROGRESS_WAIT_SECONDS = 0.2
    thread, result = _in_thread(lambda: WidgetClient(account).post(INVOICES, {}, idempotency_key="issue-1"))
    try:
        assert gateway.in_flight.wait(timeout=15), "the gateway was never called"
        _lock_nowait(account)  # raises OperationalError (lock not available) if either lock is held
        creating = Invoice.objects.get()  # committed before the call, visible to every other connection
        assert (creating.status, creating.number) == ("creating", f"{creating.year}-000001")
        assert creating.gateway_request_id == gateway.request_ids[0]
        # A repeat of the in-flight key neither waits for the gateway nor runs the work again.
        assert_error(WidgetClient(account).post(INVOICES, {}, idempotency_key="issue-1"), 409, "request_in_progress")
        assert_error(WidgetClient(account).post(INVOICES, {"installment_seq": 2}, idempotency_key="issue-1"),
                     409, "idempotency_key_reused")
    finally:
        gateway.release.set()
        thread.join(timeout=30)
    assert result["response"].status_code == 201, result["response"].content
    assert len(gateway.request_ids) == 1
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.gateway_order_id) == ("issued", "ord-1")
    replay = WidgetClient(account).post(INVOICES, {}, idempotency_key="issue-1")
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == result["response"].json()


def test_the_probe_fails_when_a_transaction_holds_the_deal_lock(account, planned):
    """The probe above is a real one: a lock held elsewhere makes it fail at once."""
    deal = Deal.objects.get(external_id=LEAD)
    InvoiceCounter.objects.create(account=account, year=2026)
    with transaction.atomic():
        Deal.objects.select_for_update(no_key=True).get(pk=deal.pk)
        with pytest.raises(OperationalError, match="could not obtain lock"):
            _lock_nowait(account)


def test_a_request_failing_after_the_gateway_answered_keeps_the_invoice_its_number_and_its_order(
        account, planned, gateway, monkeypatch):
    gateway.release.set()

    def crash_after_the_work(**kwargs):
        raise RuntimeError("the worker died while rendering the answer")

    with monkeypatch.context() as patch:
        patch.setattr("widget_api.api.invoices.deal_state_get", crash_after_the_work)
        with pytest.raises(RuntimeError):
            WidgetClient(account).post(INVOICES, {}, idempotency_key="issue-1")
    first = Invoice.objects.get()
    assert (first.status, first.sequence, first.gateway_order_id) == ("issued", 1, "ord-1")
    assert not IdempotencyRecord.objects.exists()  # the key was released for the retry

    retry = WidgetClient(account).post(INVOICES, {}, idempotency_key="issue-1")
    assert retry.status_code == 200  # the live invoice of the line, not a new one
    assert retry.json()["number"] == first.number
    second = WidgetClient(account).post(INVOICES, {"installment_seq": 2}, idempotency_key="issue-2")
    assert second.status_code == 201
    numbers = list(Invoice.objects.order_by("sequence").values_list("sequence", "gateway_request_id",
                                                                    "gateway_order_id"))
    assert [sequence for sequence, _, _ in numbers] == [1, 2]
    assert len({request_id for _, request_id, _ in numbers}) == 2
    assert len({order_id for _, _, order_id in numbers}) == 2
    assert gateway.request_ids == [numbers[0][1], numbers[1][1]]
