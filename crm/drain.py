"""Draining an account's outbox: claim a round, send it (no lock held), record it, until nothing is due.

The account's CRM kind picks the adapter (crm.port). Several workers may drain one account at once:
they claim different deals and share the account's request budget, so together they never go over the
CRM's limit.
"""
import logging
import time

from django.conf import settings

from billing.models import Account
from crm import port
from crm.outbox import DrainReport, Outcome, actions_claim, actions_record

logger = logging.getLogger(__name__)

# A round never waits longer than this for the account's budget; its actions go back and wait instead.
BUDGET_WAIT_SECONDS = 30.0


def outbox_drain_account(*, account_id: int, budget_seconds: float | None = None,
                         batch_size: int | None = None) -> DrainReport:
    deadline = time.monotonic() + (budget_seconds or settings.AMOCRM_OUTBOX_DRAIN_SECONDS)
    report = DrainReport()
    kind = Account.objects.filter(pk=account_id).values_list("crm_kind", flat=True).first()
    try:
        adapter = port.adapter_for(kind or "")
    except port.CrmUnavailable as exc:
        report.stopped = str(exc)
        return report
    while time.monotonic() < deadline:
        report.stopped = adapter.not_ready(account_id)
        if report.stopped:
            break
        actions = actions_claim(account_id=account_id, limit=batch_size or settings.AMOCRM_BATCH_SIZE)
        if not actions:
            break
        try:
            outcomes, stop = adapter.session(account_id, max_wait=BUDGET_WAIT_SECONDS).deliver(actions)
        except Exception as exc:
            # Record what we can: a bug must not leave the round in `sending` until the lease runs out.
            logger.exception("CRM outbox round of account %s failed", account_id)
            outcomes = [Outcome(action, "retry", error=f"{type(exc).__name__}: {exc}",
                                maybe_sent=action.kind in adapter.create_kinds) for action in actions]
            stop = "error"
        actions_record(outcomes=outcomes)
        report.add(outcomes)
        report.rounds += 1
        if stop:
            report.stopped = stop
            break
    return report
