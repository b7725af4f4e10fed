"""The CRM outbox: add actions in the caller's transaction, claim them for delivery, record what happened.

Ordering: only the oldest open action of a deal can be claimed, so a deal's actions reach its CRM in
the order they were written; a dead one no longer holds the others back. Claiming takes row locks with
SKIP LOCKED and a lease, so two workers never send one action, and one a killed worker held is
claimed again once its lease runs out (flagged `maybe_sent`: a note or task is looked up before it is
created again).
"""
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from billing.events import effects_coalesce
from billing.jobs import job_enqueue
from billing.models import Account, Deal, DomainEvent
from crm import port
from crm.models import CrmAction

logger = logging.getLogger(__name__)

BACKOFF_MAX_SECONDS = 3600.0
RATE_LIMITED_BACKOFF_SECONDS = 1.0
DRAIN_JOB = "widget_api.crm_outbox_drain"  # crm.tasks.crm_outbox_drain (a stable Celery name)
MAX_ERROR_LENGTH = 2000


# --- adding ----------------------------------------------------------------------------------------
def crm_action_add(*, deal: Deal, kind: str, payload: dict, source: str,
                   event: DomainEvent | None = None) -> CrmAction:
    """Write one action in the caller's transaction; a drain is asked for once it commits."""
    action = CrmAction.objects.create(account_id=deal.account_id, deal=deal, external_id=deal.external_id, kind=kind,
                                      payload=payload, source=source, event=event)
    drain_after_commit(deal.account_id)
    return action


def crm_fields_update_add(*, deal: Deal, snapshot: dict, source: str,
                          event: DomainEvent | None = None) -> CrmAction | None:
    """A field update, unless the same values are already waiting to go out for this deal."""
    waiting = CrmAction.objects.filter(deal=deal, kind=CrmAction.Kind.UPDATE_FIELDS,
                                       state=CrmAction.State.PENDING).order_by("-id").first()
    if waiting is not None and waiting.payload.get("fields") == snapshot:
        return None
    return crm_action_add(deal=deal, kind=CrmAction.Kind.UPDATE_FIELDS, payload={"fields": snapshot}, source=source,
                          event=event)


def crm_lead_fetch_add(*, deal: Deal, source: str, deleted: bool = False, stage_moved: bool = False) -> None:
    """Ask for the lead to be read again; one waiting fetch per deal is enough (a later hook only
    adds `deleted`, or `stage_moved`: a status hook, so the stage rules may act on a deal seen first)."""
    payload = {"deleted": deleted} | ({"stage_moved": True} if stage_moved else {})
    try:
        with transaction.atomic():
            crm_action_add(deal=deal, kind=CrmAction.Kind.FETCH_LEAD, payload=payload, source=source)
    except IntegrityError:
        if deleted or stage_moved:
            waiting = CrmAction.objects.filter(deal=deal, kind=CrmAction.Kind.FETCH_LEAD,
                                               state=CrmAction.State.PENDING).first()
            if waiting is not None:
                merged = {key: bool(waiting.payload.get(key)) or bool(payload.get(key))
                          for key in ("deleted", "stage_moved")}
                CrmAction.objects.filter(pk=waiting.pk).update(payload={key: value for key, value in merged.items()
                                                                        if value or key == "deleted"})


def crm_lead_fetch_ensure(*, deal: Deal) -> None:
    """A deal the widget opens gets its data from its CRM once (hooks and events keep it fresh after)."""
    if not CrmAction.objects.filter(deal=deal, kind=CrmAction.Kind.FETCH_LEAD).exists():
        crm_lead_fetch_add(deal=deal, source="widget")


def drain_after_commit(account_id: int) -> None:
    """Ask for one drain of the account after commit, however many actions the transaction wrote."""
    pending = transaction.get_connection().run_on_commit
    if any(getattr(entry[1], "crm_drain_account", None) == account_id for entry in pending):
        return
    def callback() -> None:
        _drain_enqueue(account_id)

    # A named function, not a partial: a robust on_commit logs a failing callback by its __qualname__.
    callback.crm_drain_account = account_id
    transaction.on_commit(callback, robust=True)


def _drain_enqueue(account_id: int) -> None:
    # In a tick's account or a relay run: one drain per account when it ends, not one per commit [I].
    if effects_coalesce(("widget_api.crm_drain", account_id), lambda _: _drain_enqueue_now(account_id), None):
        return
    _drain_enqueue_now(account_id)


def _drain_enqueue_now(account_id: int) -> None:
    job_enqueue(DRAIN_JOB, account_id=account_id)


# --- claiming --------------------------------------------------------------------------------------
@transaction.atomic
def actions_claim(*, account_id: int, limit: int) -> list[CrmAction]:
    """Take the due head action of up to `limit` deals of the account, each under a fresh lease."""
    now = timezone.now()
    earlier_open = CrmAction.objects.filter(deal_id=OuterRef("deal_id"), id__lt=OuterRef("id"),
                                            state__in=CrmAction.OPEN_STATES)
    due = (Q(state=CrmAction.State.PENDING, next_attempt_at__lte=now)
           | Q(state=CrmAction.State.SENDING, lease_expires_at__lt=now))
    actions = list(
        CrmAction.objects.filter(due, account_id=account_id).filter(~Exists(earlier_open))
        .select_for_update(skip_locked=True, of=("self",)).select_related("deal__account").order_by("id")[:limit]
    )
    lease = now + timedelta(seconds=settings.AMOCRM_OUTBOX_LEASE_SECONDS)
    for action in actions:
        if action.state == CrmAction.State.SENDING:
            logger.warning("CRM action %s: its worker's lease ran out; claimed again", action.pk)
            action.maybe_sent = True
        action.state, action.lease_expires_at = CrmAction.State.SENDING, lease
    CrmAction.objects.bulk_update(actions, ["state", "lease_expires_at", "maybe_sent"])
    return actions


def accounts_with_due_actions() -> list[int]:
    """Accounts with due actions whose CRM (by the account's kind) may be reached now."""
    now = timezone.now()
    due = (Q(state=CrmAction.State.PENDING, next_attempt_at__lte=now)
           | Q(state=CrmAction.State.SENDING, lease_expires_at__lt=now))
    by_kind: dict[str, set[int]] = {}
    for account_id, kind in CrmAction.objects.filter(due).values_list("account_id", "account__crm_kind").distinct():
        by_kind.setdefault(kind, set()).add(account_id)
    ready: set[int] = set()
    for kind, account_ids in by_kind.items():
        try:
            ready.update(port.adapter_for(kind).ready_account_ids(sorted(account_ids)))
        except port.CrmUnavailable:
            logger.warning("CRM actions of %d account(s) wait: no adapter for %r", len(account_ids), kind)
    return sorted(ready)


# --- recording -------------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What became of one claimed action. `result`: done, retry (counts an attempt), dead, release
    (not the action's fault: the account is paused or must be reinstalled; no attempt counted)."""

    action: CrmAction
    result: str
    error: str = ""
    entity_id: int | None = None
    maybe_sent: bool = False
    send_alone: bool = False
    delay_seconds: float = 0.0
    rate_limited: bool = False


@dataclass
class DrainReport:
    done: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0
    rounds: int = 0
    stopped: str = ""

    def add(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            name = {"done": "done", "retry": "retried", "dead": "dead", "release": "released"}[outcome.result]
            setattr(self, name, getattr(self, name) + 1)


@transaction.atomic
def actions_record(*, outcomes: list[Outcome]) -> None:
    """Store the outcomes; an action whose lease another worker has taken over meanwhile is left to it."""
    now = timezone.now()
    for outcome in outcomes:
        action = outcome.action
        changes = _changes(outcome, now)
        if changes["state"] == CrmAction.State.PENDING and _newer_fetch_waiting(action):
            changes = {"state": CrmAction.State.DONE, "lease_expires_at": None,
                       "last_error": f"superseded by a newer fetch ({outcome.error})"[:MAX_ERROR_LENGTH]}
        updated = CrmAction.objects.filter(pk=action.pk, state=CrmAction.State.SENDING,
                                           lease_expires_at=action.lease_expires_at).update(**changes)
        if not updated:
            logger.warning("CRM action %s: lease lost before its outcome (%s) was stored", action.pk, outcome.result)
        if outcome.result == "dead":
            logger.error("CRM action %s (%s, lead %s) dead-lettered: %s", action.pk, action.kind, action.external_id,
                         outcome.error)


def _newer_fetch_waiting(action: CrmAction) -> bool:
    """A lead fetch going back to wait while a newer one waits already: the newer one does the job
    (taking over a `deleted` flag), since only one may wait per deal."""
    if action.kind != CrmAction.Kind.FETCH_LEAD:
        return False
    waiting = CrmAction.objects.filter(deal_id=action.deal_id, kind=CrmAction.Kind.FETCH_LEAD,
                                       state=CrmAction.State.PENDING).exclude(pk=action.pk)
    if action.payload.get("deleted") or action.payload.get("stage_moved"):
        for newer in waiting:  # [J] a status hook's flag is taken over too
            merged = {"deleted": bool(newer.payload.get("deleted") or action.payload.get("deleted"))}
            if newer.payload.get("stage_moved") or action.payload.get("stage_moved"):
                merged["stage_moved"] = True
            CrmAction.objects.filter(pk=newer.pk).update(payload=merged)
    return waiting.exists()


def _changes(outcome: Outcome, now: datetime) -> dict:
    action = outcome.action
    error = outcome.error[:MAX_ERROR_LENGTH]
    base = {"lease_expires_at": None, "last_error": error}
    if outcome.result == "done":
        return base | {"state": CrmAction.State.DONE, "sent_at": now, "crm_entity_id": outcome.entity_id,
                       "maybe_sent": False}
    if outcome.result == "dead":
        return base | {"state": CrmAction.State.DEAD}
    if outcome.result == "release":
        return base | {"state": CrmAction.State.PENDING,
                       "next_attempt_at": now + timedelta(seconds=outcome.delay_seconds),
                       "send_alone": outcome.send_alone or action.send_alone,
                       "maybe_sent": outcome.maybe_sent or action.maybe_sent}
    attempts = action.attempts + 1
    if attempts >= settings.AMOCRM_OUTBOX_MAX_ATTEMPTS:
        logger.error("CRM action %s dead after %d attempts: %s", action.pk, attempts, error)
        return base | {"state": CrmAction.State.DEAD, "attempts": attempts,
                       "last_error": f"gave up after {attempts} attempts: {error}"[:MAX_ERROR_LENGTH]}
    return base | {"state": CrmAction.State.PENDING, "attempts": attempts,
                   "next_attempt_at": now + timedelta(seconds=backoff_seconds(attempts, outcome)),
                   "maybe_sent": outcome.maybe_sent or action.maybe_sent}


def backoff_seconds(attempts: int, outcome: Outcome) -> float:
    """Exponential with jitter, so workers that failed together do not come back together."""
    base = RATE_LIMITED_BACKOFF_SECONDS if outcome.rate_limited else settings.AMOCRM_OUTBOX_BACKOFF_SECONDS
    delay = min(base * 2 ** (attempts - 1), BACKOFF_MAX_SECONDS)
    return max(delay * random.uniform(0.8, 1.2), outcome.delay_seconds)  # noqa: S311 - jitter, not secrecy


# --- operators -------------------------------------------------------------------------------------
@transaction.atomic
def crm_actions_requeue(*, account: Account | None = None, action_ids: list[int] | None = None,
                        include_waiting: bool = False) -> int:
    """Dead actions (and, with `include_waiting`, those waiting for a retry) go out again now."""
    states = [CrmAction.State.DEAD] + ([CrmAction.State.PENDING] if include_waiting else [])
    actions = CrmAction.objects.filter(state__in=states)
    if account is not None:
        actions = actions.filter(account=account)
    if action_ids:
        actions = actions.filter(pk__in=action_ids)
    # Only one lead fetch may wait per deal: a dead one is re-queued only when none waits already.
    waiting_fetch = CrmAction.objects.filter(deal_id=OuterRef("deal_id"), kind=CrmAction.Kind.FETCH_LEAD,
                                             state=CrmAction.State.PENDING)
    newer_dead_fetch = CrmAction.objects.filter(deal_id=OuterRef("deal_id"), kind=CrmAction.Kind.FETCH_LEAD,
                                                state=CrmAction.State.DEAD, id__gt=OuterRef("id"))
    actions = actions.exclude(Q(kind=CrmAction.Kind.FETCH_LEAD, state=CrmAction.State.DEAD)
                              & (Exists(waiting_fetch) | Exists(newer_dead_fetch)))
    account_ids = set(actions.values_list("account_id", flat=True))
    count = actions.update(state=CrmAction.State.PENDING, attempts=0, next_attempt_at=timezone.now())
    for account_id in account_ids:
        drain_after_commit(account_id)
    return count
