"""Draining an account's outbox: claim a round, send it (no lock held), record it, until nothing is due.

Several workers may drain one account at once: they claim different deals and share the account's
request budget, so together they never go over amoCRM's limit.
"""
import logging
import time

from django.conf import settings

from widget_api.amocrm.client import AmoCrmClient
from widget_api.amocrm.delivery import CREATE_KINDS, deliver
from widget_api.amocrm.outbox import DrainReport, Outcome, actions_claim, actions_record
from widget_api.amocrm.ratelimit import account_bucket
from widget_api.models import CrmConnection

logger = logging.getLogger(__name__)

# A round never waits longer than this for the account's budget; its actions go back and wait instead.
BUDGET_WAIT_SECONDS = 30.0


def outbox_drain_account(*, account_id: int, budget_seconds: float | None = None,
                         batch_size: int | None = None) -> DrainReport:
    deadline = time.monotonic() + (budget_seconds or settings.AMOCRM_OUTBOX_DRAIN_SECONDS)
    bucket = account_bucket()
    report = DrainReport()
    while time.monotonic() < deadline:
        connection = CrmConnection.objects.filter(account_id=account_id).first()
        if connection is None or not connection.is_connected:
            report.stopped = "not connected"  # the actions wait for a (re-)installation
            break
        if bucket.paused_for(str(account_id)) > BUDGET_WAIT_SECONDS:
            report.stopped = "paused"
            break
        actions = actions_claim(account_id=account_id, limit=batch_size or settings.AMOCRM_BATCH_SIZE)
        if not actions:
            break
        client = AmoCrmClient(connection, bucket=bucket, max_wait=BUDGET_WAIT_SECONDS)
        try:
            outcomes, stop = deliver(client, actions)
        except Exception as exc:
            # Record what we can: a bug must not leave the round in `sending` until the lease runs out.
            logger.exception("CRM outbox round of account %s failed", account_id)
            outcomes = [Outcome(action, "retry", error=f"{type(exc).__name__}: {exc}",
                                maybe_sent=action.kind in CREATE_KINDS) for action in actions]
            stop = "error"
        actions_record(outcomes=outcomes)
        report.add(outcomes)
        report.rounds += 1
        if stop:
            report.stopped = stop
            break
    return report
