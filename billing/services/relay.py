"""The event relay: hand each committed domain event to its registered handlers, durably.

Claiming takes due deliveries with SELECT ... FOR UPDATE SKIP LOCKED, stamps a lease and commits, so no
lock is held while a handler talks to the outside world; a relay killed mid-handler leaves its rows
`running` until the lease runs out, and the next relay claims them again (the handler's own mark keeps
the effect from happening twice). Failures back off exponentially and end in a visible dead letter.
"""
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from billing.events import DeliveryNotYet, DeliveryRefused, effects_coalesced, handler_get, relay_nudge_after_commit
from billing.models import EventDelivery
from billing.transactions import handler_isolation

logger = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 4000
State = EventDelivery.State


@dataclass
class RelayReport:
    done: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0
    lost: int = 0  # the lease ran out before the outcome was stored: the next claimer decides
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.done + self.retried + self.dead


def _due(now) -> Q:
    return (Q(state=State.PENDING, next_attempt_at__lte=now)
            | Q(state=State.RUNNING, lease_expires_at__lt=now))


@transaction.atomic
def deliveries_claim(*, limit: int, handler: str | None = None,
                     event_ids: list[int] | None = None) -> list[EventDelivery]:
    """Take up to `limit` due deliveries under a fresh lease, counting the attempt. An ordered handler's
    delivery waits while an earlier one of its key is still open (a dead one no longer holds it back)."""
    now = timezone.now()
    earlier_open = EventDelivery.objects.filter(
        handler=OuterRef("handler"), ordering_key=OuterRef("ordering_key"), id__lt=OuterRef("id"),
        state__in=EventDelivery.OPEN_STATES)
    due = EventDelivery.objects.filter(_due(now)).filter(Q(ordering_key="") | ~Exists(earlier_open))
    if handler is not None:
        due = due.filter(handler=handler)
    if event_ids is not None:
        due = due.filter(event_id__in=event_ids)
    deliveries = list(due.select_for_update(skip_locked=True, of=("self",)).select_related("event__account")
                      .order_by("id")[:limit])
    lease = now + timedelta(seconds=settings.PAYPLAN_EVENTS_LEASE_SECONDS)
    for delivery in deliveries:
        if delivery.state == State.RUNNING:
            logger.warning("event delivery %s (%s): its relay's lease ran out; claimed again", delivery.pk,
                           delivery.handler)
        delivery.state, delivery.lease_expires_at, delivery.attempts = State.RUNNING, lease, delivery.attempts + 1
    EventDelivery.objects.bulk_update(deliveries, ["state", "lease_expires_at", "attempts"])
    return deliveries


def delivery_run(delivery: EventDelivery, report: RelayReport | None = None) -> str:
    """Run one claimed delivery's handler (no lock held) and store the outcome; returns it."""
    report = report if report is not None else RelayReport()
    handler = handler_get(delivery.handler)
    margin = timedelta(seconds=settings.PAYPLAN_EVENTS_LEASE_SECONDS / 10)
    if handler is not None and timezone.now() > delivery.lease_expires_at - margin:
        # Claimed in a batch that ran long: another relay may take it any moment, so do not start it.
        return _record(delivery, report, "release", "")
    if handler is None:
        return _record(delivery, report, "dead", f"no handler {delivery.handler!r} is registered")
    try:
        with handler_isolation():
            handler.func(delivery.event)
    except DeliveryRefused as exc:
        return _record(delivery, report, "dead", f"refused: {exc}")
    except DeliveryNotYet as exc:
        return _record(delivery, report, "release", f"not yet: {exc}")
    except Exception as exc:
        logger.warning("event delivery %s (%s of event %s) failed on attempt %d: %s", delivery.pk, delivery.handler,
                       delivery.event_id, delivery.attempts, exc, exc_info=True)
        failed = "dead" if delivery.attempts >= settings.PAYPLAN_EVENTS_MAX_ATTEMPTS else "retry"
        return _record(delivery, report, failed, f"{type(exc).__name__}: {exc}")
    return _record(delivery, report, "done", "")


def backoff_seconds(attempts: int) -> float:
    """Exponential with jitter, so deliveries that failed together do not come back together."""
    delay = min(settings.PAYPLAN_EVENTS_BACKOFF_SECONDS * 2 ** (attempts - 1),
                settings.PAYPLAN_EVENTS_BACKOFF_MAX_SECONDS)
    return delay * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not secrecy


def _record(delivery: EventDelivery, report: RelayReport, outcome: str, error: str) -> str:
    now = timezone.now()
    error = error[:MAX_ERROR_LENGTH]
    changes: dict = {"lease_expires_at": None, "last_error": error}
    if outcome == "done":
        changes |= {"state": State.DONE, "done_at": now}
    elif outcome == "dead":
        changes |= {"state": State.DEAD}
    elif outcome == "retry":
        delay = timedelta(seconds=backoff_seconds(delivery.attempts))
        changes |= {"state": State.PENDING, "next_attempt_at": now + delay}
    else:  # release: not the handler's failure, so the attempt is not counted
        changes |= {"state": State.PENDING, "attempts": F("attempts") - 1,
                    "next_attempt_at": now + timedelta(seconds=settings.PAYPLAN_EVENTS_BACKOFF_SECONDS)}
    updated = EventDelivery.objects.filter(pk=delivery.pk, state=State.RUNNING,
                                           lease_expires_at=delivery.lease_expires_at).update(**changes)
    if not updated:
        logger.warning("event delivery %s (%s): lease lost before its outcome (%s) was stored", delivery.pk,
                       delivery.handler, outcome)
        report.lost += 1
        return "lost"
    if outcome == "dead":
        logger.error("event delivery %s (%s of event %s %s) dead-lettered after %d attempts: %s", delivery.pk,
                     delivery.handler, delivery.event_id, delivery.event.name, delivery.attempts, error)
        report.errors.append(f"{delivery.pk}: {error}")
    name = {"done": "done", "retry": "retried", "dead": "dead", "release": "released"}[outcome]
    setattr(report, name, getattr(report, name) + 1)
    return outcome


def events_relay_run(*, batch: int | None = None, budget_seconds: float | None = None,
                     handler: str | None = None, event_ids: list[int] | None = None) -> RelayReport:
    """Claim and run due deliveries (of `handler`, of `event_ids`) until none is due or the time budget
    is spent."""
    batch = batch or settings.PAYPLAN_EVENTS_BATCH
    budget = budget_seconds if budget_seconds is not None else settings.PAYPLAN_EVENTS_RELAY_BUDGET_SECONDS
    deadline = time.monotonic() + budget
    report = RelayReport()
    with effects_coalesced():  # the drains its handlers ask for: one per account when the run ends
        while time.monotonic() < deadline:
            deliveries = deliveries_claim(limit=batch, handler=handler, event_ids=event_ids)
            if not deliveries:
                break
            for delivery in deliveries:
                delivery_run(delivery, report)
    return report


# --- operators -------------------------------------------------------------------------------------
def deliveries_list(*, dead: bool = False, delivery_ids: list[int] | None = None, handler: str | None = None,
                    limit: int = 100) -> list[EventDelivery]:
    deliveries = EventDelivery.objects.select_related("event")
    if dead:
        deliveries = deliveries.filter(state=State.DEAD)
    if delivery_ids:
        deliveries = deliveries.filter(pk__in=delivery_ids)
    if handler:
        deliveries = deliveries.filter(handler=handler)
    return list(deliveries.order_by("-id")[:limit])


@transaction.atomic
def deliveries_replay(*, dead: bool = False, delivery_ids: list[int] | None = None,
                      handler: str | None = None) -> int:
    """Put deliveries back in line now with a fresh count of attempts: the dead ones (`dead`), or the
    named ones in any state but running (a done one runs again; its handler's own mark decides)."""
    if not (dead or delivery_ids or handler):
        raise ValueError("say which deliveries to replay: dead, ids or a handler")
    deliveries = EventDelivery.objects.exclude(state=State.RUNNING)
    if dead or not delivery_ids:
        deliveries = deliveries.filter(state=State.DEAD)
    if delivery_ids:
        deliveries = deliveries.filter(pk__in=delivery_ids)
    if handler:
        deliveries = deliveries.filter(handler=handler)
    count = deliveries.update(state=State.PENDING, attempts=0, next_attempt_at=timezone.now(), done_at=None,
                              lease_expires_at=None)
    if count:
        relay_nudge_after_commit()
    return count
