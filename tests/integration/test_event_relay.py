"""The event relay over real PostgreSQL and Redis: every after-commit effect (gateway cancel, fiscal receipt,
document email, CRM action) survives a broker that is down at commit, a relay killed mid-run, a handler
that keeps failing, and two relays running at once; each happens exactly once."""
import logging
import socket
import threading
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from billing.events import handler_get
from billing.gateway.errors import GatewayUnavailable
from billing.gateway.interface import ReceiptQueued
from billing.models import EventDelivery, Invoice, Payment
from billing.services import PaymentInput, payment_record
from billing.services.invoicing import invoice_issue
from billing.services.relay import deliveries_claim, events_relay_run
from billing.tasks import events_relay
from config.celery_app import app as celery_app
from crm.models import CrmAction
from documents.models import DocumentEmail
from documents.samples import SAMPLE_REQUISITES
from tests.documents.conftest import documents_storage, with_client
from tests.invoicing.conftest import gateway, make_plan
from tests.threads import run_together

__all__ = ["documents_storage", "gateway"]  # fixtures shared with the documents and invoicing suites

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
PAID_AT = date(2026, 11, 24)


class ReceiptGateway:
    """CloudKassir: fails the first `failures` calls, remembers every receipt it accepted."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls = 0
        self.sent: list[str] = []
        self._lock = threading.Lock()

    def create_receipt(self, receipt, *, request_id):
        with self._lock:
            self.calls += 1
            if self.calls <= self.failures:
                raise GatewayUnavailable("kassa down")
            self.sent.append(request_id)
        return ReceiptQueued(f"rcpt-{len(self.sent)}", {})


@pytest.fixture
def kassa(monkeypatch):
    fake = ReceiptGateway()
    monkeypatch.setattr("billing.services.receipts.gateway_for", lambda account: fake)
    return fake


@pytest.fixture
def school(account):
    account.settings = {"requisites": dict(SAMPLE_REQUISITES),
                        "receipts": {"enabled": True, "inn": "7707083893", "taxation_system": 1}}
    account.save()
    return account


@pytest.fixture
def no_nudge(monkeypatch):
    """Deliveries wait for a relay the test runs itself (as if the nudge were lost)."""
    monkeypatch.setattr("billing.events._relay_nudge", lambda: None)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def broker(settings):
    """Switch the Celery app between a real (eager) broker and one on a closed loopback port."""

    class Broker:
        def down(self) -> None:
            self._point(f"redis://127.0.0.1:{_closed_port()}/0", eager=False)

        def back(self) -> None:
            self._point(settings.CELERY_BROKER_URL, eager=True)

        def _point(self, url: str, *, eager: bool) -> None:
            celery_app.conf.broker_url = url
            celery_app.conf.task_always_eager = eager
            celery_app.conf.broker_connection_timeout = 1
            celery_app.conf.task_publish_retry = False
            # Fresh pools for the new URL (even an eager task acquires a producer); the old ones stay open.
            celery_app._pool = None
            celery_app.amqp._producer_pool = None

    original = (celery_app.conf.broker_url, celery_app.conf.task_always_eager,
                celery_app.conf.broker_connection_timeout, celery_app.conf.task_publish_retry)
    handle = Broker()
    yield handle
    handle._point(original[0], eager=original[1])
    celery_app.conf.broker_connection_timeout, celery_app.conf.task_publish_retry = original[2:]


def _invoice_then_cash_payment(school, lead_id: int = 6001) -> tuple[Invoice, Payment]:
    """An issued invoice (its email, its CRM note), then a cash payment of its line: the payment's
    receipt, email and CRM note, and the cancel of the now needless gateway order."""
    deal = with_client(make_plan(school, lead_id=lead_id))
    line = deal.schedules.get(is_active=True).installments.get(seq=1)
    invoice = invoice_issue(installment_id=line.pk, today=date(2026, 12, 5)).invoice
    payment = payment_record(deal=deal, amount=Decimal("10000.00"),
                             payment=PaymentInput(method="cash", paid_at=PAID_AT))
    invoice.refresh_from_db()
    assert invoice.status == "cancelled"
    return invoice, payment


def _assert_every_effect_once(invoice: Invoice, payment: Payment, gateway, kassa) -> None:
    assert gateway.cancelled == [invoice.gateway_order_id]
    invoice.refresh_from_db()
    assert not invoice.gateway_cancel_pending
    assert kassa.sent == [f"receipt:{payment.account_id}:{payment.pk}"]
    payment.refresh_from_db()
    assert payment.receipt_status == "queued"
    assert sorted(message.subject.split()[0] for message in mail.outbox) == ["Оплата", "Счёт"]
    assert set(DocumentEmail.objects.values_list("kind", "status")) == {("invoice", "sent"), ("receipt", "sent")}
    assert Counter(CrmAction.objects.filter(deal=invoice.deal).values_list("source", "kind")) == {
        ("schedule_changed", "add_note"): 1, ("invoice_issued", "add_note"): 1, ("payment_recorded", "add_note"): 1}
    assert set(EventDelivery.objects.values_list("state", flat=True)) == {"done"}


def test_with_the_broker_down_at_commit_every_effect_is_delivered_once_it_is_back(
        school, gateway, kassa, broker, caplog):
    broker.down()
    with caplog.at_level(logging.ERROR):
        invoice, payment = _invoice_then_cash_payment(school)
    assert "events_relay_nudge" in caplog.text  # the nudge failed, the commit did not

    assert gateway.cancelled == []
    assert kassa.sent == []
    assert mail.outbox == []
    assert not CrmAction.objects.exists()
    payment.refresh_from_db()
    assert payment.receipt_status == "pending"
    assert EventDelivery.objects.filter(state="pending").count() == 7

    broker.back()
    events_relay.delay()  # the beat tick
    _assert_every_effect_once(invoice, payment, gateway, kassa)
    events_relay.delay()
    _assert_every_effect_once(invoice, payment, gateway, kassa)


def test_a_relay_killed_after_the_effects_but_before_marking_them_done_repeats_none(
        school, gateway, kassa, no_nudge):
    invoice, payment = _invoice_then_cash_payment(school)
    claimed = deliveries_claim(limit=50)
    assert {delivery.handler for delivery in claimed} == {
        "billing.gateway_cancel", "billing.fiscal_receipt", "documents.deliver", "widget_api.crm_feed"}
    for delivery in claimed:
        handler_get(delivery.handler).func(delivery.event)  # the effect happens; then the worker dies
    assert EventDelivery.objects.filter(state="running").count() == len(claimed)
    assert events_relay_run().handled == 0  # the dead worker's leases still hold

    EventDelivery.objects.filter(state="running").update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    events_relay_run()
    _assert_every_effect_once(invoice, payment, gateway, kassa)
    for delivery in claimed:
        delivery.refresh_from_db()
        assert delivery.attempts == 2


def test_a_handler_failing_three_times_then_succeeding_delivers_once_with_growing_backoff(
        school, gateway, kassa, no_nudge):
    kassa.failures = 3
    deal = make_plan(school)
    payment = payment_record(deal=deal, amount=Decimal("10000.00"),
                             payment=PaymentInput(method="cash", paid_at=PAID_AT))
    delivery = EventDelivery.objects.get(handler="billing.fiscal_receipt")
    for attempt, backoff in ((1, 10), (2, 20), (3, 40)):
        started = timezone.now()
        events_relay_run(handler="billing.fiscal_receipt")
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts) == ("pending", attempt)
        assert "kassa down" in delivery.last_error
        wait = (delivery.next_attempt_at - started).total_seconds()
        assert backoff * 0.8 - 1 <= wait <= backoff * 1.2 + 1
        assert events_relay_run(handler="billing.fiscal_receipt").handled == 0  # not due yet
        EventDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    events_relay_run(handler="billing.fiscal_receipt")
    delivery.refresh_from_db()
    payment.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("done", 4, "")
    assert kassa.sent == [f"receipt:{payment.account_id}:{payment.pk}"]
    assert (payment.receipt_status, payment.receipt_attempts) == ("queued", 4)


def test_a_dead_lettered_delivery_is_listed_and_replayed_by_the_command(school, kassa, no_nudge, settings, capsys):
    settings.PAYPLAN_EVENTS_MAX_ATTEMPTS, settings.PAYPLAN_EVENTS_BACKOFF_SECONDS = 3, 0
    kassa.failures = 100
    deal = make_plan(school)
    payment = payment_record(deal=deal, amount=Decimal("10000.00"),
                             payment=PaymentInput(method="cash", paid_at=PAID_AT))
    events_relay_run(handler="billing.fiscal_receipt")
    delivery = EventDelivery.objects.get(handler="billing.fiscal_receipt")
    assert (delivery.state, delivery.attempts) == ("dead", 3)
    assert "kassa down" in delivery.last_error
    assert events_relay_run(handler="billing.fiscal_receipt").handled == 0  # dead stays dead

    call_command("payplan_events_replay", "--list", "--dead")
    listed = capsys.readouterr().out
    assert f"{delivery.pk}\tbilling.fiscal_receipt\tevent {delivery.event_id} payment_recorded\tdead" in listed

    kassa.failures = 0
    call_command("payplan_events_replay", "--dead", "--handler", "billing.fiscal_receipt", "--run")
    delivery.refresh_from_db()
    payment.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("done", 1)
    assert payment.receipt_status == "queued"
    assert len(kassa.sent) == 1

    call_command("payplan_events_replay", "--id", str(delivery.pk), "--run")  # a done one, on purpose
    delivery.refresh_from_db()
    assert delivery.state == "done"
    assert len(kassa.sent) == 1  # the payment's own mark: a queued receipt is not sent again


def test_two_relays_at_once_deliver_each_event_once_and_each_deal_in_order(
        school, gateway, kassa, no_nudge, monkeypatch):
    documents: list[tuple[str, int]] = []

    def document_deliver(*, account, kind, object_id):
        documents.append((kind, object_id))
        return DocumentEmail(status=DocumentEmail.Status.SENT)

    monkeypatch.setattr("documents.events.document_deliver", document_deliver)
    payments = []
    for lead_id in range(7001, 7007):
        deal = make_plan(school, lead_id=lead_id)
        for _ in range(2):
            payments.append(payment_record(deal=deal, amount=Decimal("5000.00"),
                                           payment=PaymentInput(method="cash", paid_at=PAID_AT)))
    total = EventDelivery.objects.count()
    assert total == 6 * (1 + 2 * 3)

    run_together([lambda: events_relay_run(batch=2) for _ in range(2)])
    events_relay_run()  # whatever an ordered feed left for later

    assert set(EventDelivery.objects.values_list("state", "attempts")) == {("done", 1)}
    assert sorted(kassa.sent) == sorted(f"receipt:{p.account_id}:{p.pk}" for p in payments)
    assert sorted(documents) == sorted(("receipt", p.pk) for p in payments)
    assert CrmAction.objects.count() == 6 * 3
    for lead_id in range(7001, 7007):
        event_ids = list(CrmAction.objects.filter(external_id=lead_id).order_by("id").values_list("event_id",
                                                                                                  flat=True))
        assert event_ids == sorted(event_ids)
