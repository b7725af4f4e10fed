"""Domain events: written in the caller's transaction, handed to subscribers in it, signalled on commit.

Subscribers that must write in the same transaction (a CRM outbox row, say) use `subscribe`;
anything that talks to the outside world listens to `event_committed`, which fires only after commit.
"""
from collections import defaultdict
from collections.abc import Callable

from django.db import transaction
from django.dispatch import Signal

from billing.models import Account, DomainEvent

PAYMENT_RECORDED = "payment_recorded"
DEAL_PAID = "deal_paid"
SCHEDULE_CHANGED = "schedule_changed"
INVOICE_ISSUED = "invoice_issued"
PAYMENT_FAILED = "payment_failed"
PAYMENT_REFUNDED = "payment_refunded"

event_committed = Signal()  # sender=DomainEvent name, kwargs: event=DomainEvent

_in_transaction_subscribers: dict[str, list[Callable[[DomainEvent], None]]] = defaultdict(list)


def subscribe(name: str, handler: Callable[[DomainEvent], None]) -> None:
    """Call `handler(event)` inside the transaction that publishes `name`."""
    if handler not in _in_transaction_subscribers[name]:
        _in_transaction_subscribers[name].append(handler)


def publish(*, account: Account, name: str, payload: dict) -> DomainEvent:
    event = DomainEvent.objects.create(account=account, name=name, payload=payload)
    for handler in _in_transaction_subscribers[name]:
        handler(event)
    def announce() -> None:
        event_committed.send(sender=name, event=event)

    # robust: a failing listener is logged, never surfaced to a caller whose transaction already committed.
    transaction.on_commit(announce, robust=True)
    return event
