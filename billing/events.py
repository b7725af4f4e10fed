"""Domain events, written in the caller's transaction: the one outbox of every after-commit effect.

Two kinds of listener:
- `subscribe`: runs inside the publishing transaction, for billing's own state that must commit (or roll
  back) with the change (live invoices cancelled with the plan, a receipt flagged as pending).
- `register_handler`: an effect (a gateway call, a document, an email, the CRM feed). `publish` writes one
  `EventDelivery` row per registered handler in the caller's transaction; the relay (billing.relay) runs
  the handler after commit, retries it with backoff and dead-letters it after too many attempts.
  Handlers must be idempotent: a relay killed after the effect but before marking it done runs it again.

Other apps register from their AppConfig.ready, so billing imports none of them.
"""
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import transaction

from billing.jobs import job_enqueue
from billing.models import Account, DomainEvent, EventDelivery

logger = logging.getLogger(__name__)

PAYMENT_RECORDED = "payment_recorded"
DEAL_PAID = "deal_paid"
SCHEDULE_CHANGED = "schedule_changed"
INVOICE_ISSUED = "invoice_issued"
PAYMENT_FAILED = "payment_failed"
PAYMENT_REFUNDED = "payment_refunded"
INVOICES_CANCELLED = "invoices_cancelled"
PAYMENT_REVERSED = "payment_reversed"
AUTOPAY_FAILED = "autopay_failed"  # a line's card charge gave up; its invoice link is out
AUTOPAY_CHANGED = "autopay_changed"  # a card switched on or off
# The client page (client_portal): the CRM adapter turns these into contact updates, leads, notes and tasks.
CLIENT_CONTACT_CHANGED = "client_contact_changed"
SCHEDULE_PROPOSED = "schedule_proposed"
SCHEDULE_PROPOSAL_DECIDED = "schedule_proposal_decided"
CLIENT_REGISTERED = "client_registered"
PLAN_EXTENDED = "plan_extended"  # a recurring plan's rolling horizon gained lines (billing.services.recurring)
PAYOUT_DUE = "payout_due"  # an outgoing line reached its date: the accountant's task (billing.services.payouts)
# [J] Stage rules (billing.services.plan_autostart): a note on the deal (`text`), and a move back (`status_id`,
# `pipeline_id`, `text`) of a deal that reached a stage closed until its first payment.
PLAN_AUTOSTART_NOTED = "plan_autostart_noted"
DEAL_STAGE_GATED = "deal_stage_gated"
PAYOUT_FAILED = "payout_failed"  # an automatic payout was canceled by YooKassa: back to the accountant (payouts_auto)


class DeliveryRefused(Exception):
    """Raised by a handler for a failure no retry can fix: the delivery goes to the dead letter at once."""


class DeliveryNotYet(Exception):
    """Raised by a handler that cannot tell yet (another worker holds the effect): retried without
    counting toward the dead letter."""


@dataclass(frozen=True)
class Handler:
    key: str
    func: Callable[[DomainEvent], None]
    ordered: bool  # one ordering key's deliveries run one at a time, in event order


_in_transaction_subscribers: dict[str, list[Callable[[DomainEvent], None]]] = defaultdict(list)
_in_transaction_batch_subscribers: dict[str, list[Callable[[list[DomainEvent]], None]]] = defaultdict(list)
_handlers_by_event: dict[str, dict[str, Handler]] = defaultdict(dict)
_handlers: dict[str, Handler] = {}


def subscribe(name: str, handler: Callable[[DomainEvent], None]) -> None:
    """Call `handler(event)` inside the transaction that publishes `name` (billing state only)."""
    if handler not in _in_transaction_subscribers[name]:
        _in_transaction_subscribers[name].append(handler)


def subscribe_batch(name: str, handler: Callable[[list[DomainEvent]], None]) -> None:
    """`subscribe` for a handler that takes the events of one `publish_many` together (one query for a
    chunk, not one per event); `publish` hands it a list of one."""
    if handler not in _in_transaction_batch_subscribers[name]:
        _in_transaction_batch_subscribers[name].append(handler)


def register_handler(name: str, handler_key: str, func: Callable[[DomainEvent], None], *,
                     ordered: bool = False) -> None:
    """Deliver every `name` event to `func` after commit, durably, under the stable key `handler_key`
    (stored on each delivery row: renaming it orphans the waiting rows). One key may serve several events."""
    known = _handlers.get(handler_key)
    if known is not None and (known.func is not func or known.ordered != ordered):
        raise ValueError(f"event handler {handler_key!r} is registered twice with different functions")
    handler = Handler(handler_key, func, ordered)
    _handlers[handler_key] = handler
    _handlers_by_event[name][handler_key] = handler


def handler_get(handler_key: str) -> Handler | None:
    return _handlers.get(handler_key)


def handler_keys() -> list[str]:
    return sorted(_handlers)


def ordering_key_of(event: DomainEvent) -> str:
    """Effects of one deal keep their order; an event with no deal orders only with itself."""
    deal_id = event.payload.get("deal_id")
    return f"deal:{deal_id}" if deal_id is not None else ""


def publish(*, account: Account, name: str, payload: dict) -> DomainEvent:
    """Write the event and its deliveries (one bulk insert) in the caller's transaction; a relay is
    nudged once the transaction commits, and the beat tick finds the rows if the nudge is lost."""
    event = DomainEvent.objects.create(account=account, name=name, payload=payload)
    for subscriber in _in_transaction_subscribers[name]:
        subscriber(event)
    for batch_subscriber in _in_transaction_batch_subscribers[name]:
        batch_subscriber([event])
    handlers = _handlers_by_event[name].values()
    if handlers:
        ordering_key = ordering_key_of(event)
        EventDelivery.objects.bulk_create([
            EventDelivery(event=event, handler=handler.key, ordering_key=ordering_key if handler.ordered else "",
                          next_attempt_at=event.created_at, created_at=event.created_at)
            for handler in handlers
        ])
        relay_nudge_after_commit(event_id=event.pk)
    return event


def publish_many(*, account: Account, events: list[tuple[str, dict]]) -> list[DomainEvent]:
    """`publish` for a batch (a tick's chunk of lines): two bulk inserts however many events, in list order,
    so one deal's events keep their order for the relay; one nudge after commit takes them all."""
    if not events:
        return []
    rows = DomainEvent.objects.bulk_create([DomainEvent(account=account, name=name, payload=payload)
                                            for name, payload in events])
    deliveries = []
    for event in rows:
        for subscriber in _in_transaction_subscribers[event.name]:
            subscriber(event)
        ordering_key = ordering_key_of(event)
        deliveries += [EventDelivery(event=event, handler=handler.key,
                                     ordering_key=ordering_key if handler.ordered else "",
                                     next_attempt_at=event.created_at, created_at=event.created_at)
                       for handler in _handlers_by_event[event.name].values()]
    by_name: dict[str, list[DomainEvent]] = defaultdict(list)
    for event in rows:
        by_name[event.name].append(event)
    for name, named in by_name.items():
        for batch_subscriber in _in_transaction_batch_subscribers[name]:
            batch_subscriber(named)
    if deliveries:
        EventDelivery.objects.bulk_create(deliveries, batch_size=2000)
        for event_id in sorted({delivery.event_id for delivery in deliveries}):
            relay_nudge_after_commit(event_id=event_id)
    return rows


def relay_nudge_after_commit(*, event_id: int | None = None) -> None:
    """Ask for one relay run after commit, however many events the transaction wrote; it runs their
    deliveries (`event_id`) or, without one, whatever is due. A nudge that cannot be queued (broker down)
    loses nothing: the deliveries wait for the beat tick, which also runs every retry."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _relay_nudge([event_id] if event_id is not None else None)
        return
    # A nudge already waiting in this transaction takes the event along (one registered in a savepoint
    # since released does not count: it may belong to a block that never commits, like a test's).
    open_savepoints = set(connection.savepoint_ids)
    for savepoints, callback, *_ in connection.run_on_commit:
        scope = getattr(callback, "events_relay_scope", None)
        if scope is not None and savepoints <= open_savepoints:
            _scope_add(scope, event_id)
            return
    scope: dict = {"event_ids": [], "everything": False}
    _scope_add(scope, event_id)

    def events_relay_nudge() -> None:
        _relay_nudge(None if scope["everything"] else scope["event_ids"])

    events_relay_nudge.events_relay_scope = scope
    transaction.on_commit(events_relay_nudge, robust=True)


def _scope_add(scope: dict, event_id: int | None) -> None:
    if event_id is None:
        scope["everything"] = True
    else:
        scope["event_ids"].append(event_id)


def _relay_nudge(event_ids: list[int] | None) -> None:
    if effects_coalesce("billing.events_relay", _relay_nudge_now, event_ids):
        return
    _relay_nudge_now([event_ids])


def _relay_nudge_now(scopes: list[list[int] | None]) -> None:
    everything = any(scope is None for scope in scopes)
    # One try, no publish retries: a nudge that fails is logged and the beat tick finds the rows, so a broker
    # that is down costs a request one refused connection, not the retry policy's waits (and less CPU per Pay).
    job_enqueue("billing.events_relay", publish_retry=False,
                event_ids=None if everything else sorted({i for scope in scopes for i in scope or []}))


# --- coalesced after-commit effects [I] ------------------------------------------------------------
# A batch (a tick's account, a relay run) commits many small transactions; each would queue its own relay
# nudge and CRM drain task. Inside `effects_coalesced()` those queue calls are merged by key and made
# once when the outermost block ends (also when it ends by an exception: what committed still goes out).
_coalesced = threading.local()


@contextmanager
def effects_coalesced() -> Iterator[None]:
    pending = getattr(_coalesced, "pending", None)
    if pending is not None:  # nested: the outermost block flushes
        yield
        return
    _coalesced.pending = pending = {}
    try:
        yield
    finally:
        try:
            while pending:  # a flushed effect may queue more (an eager relay queues a drain)
                key = next(iter(pending))
                func, args = pending.pop(key)
                try:
                    func(args)
                except Exception:
                    logger.exception("coalesced effect %s failed; its beat tick picks the work up", key)
        finally:
            _coalesced.pending = None


def effects_coalesce(key: object, func: Callable[[list], None], arg: object) -> bool:
    """Inside `effects_coalesced()`: remember `func(args)` under `key` (args of every call with that key),
    True. Outside: False, the caller does its effect now."""
    pending = getattr(_coalesced, "pending", None)
    if pending is None:
        return False
    pending.setdefault(key, (func, []))[1].append(arg)
    return True
