"""Celery tasks of the CRM outbox: thin, id-based, safe to run twice (names kept from widget_api)."""
import logging

from celery import shared_task

from crm.drain import outbox_drain_account
from crm.outbox import DRAIN_JOB, accounts_with_due_actions

logger = logging.getLogger(__name__)


@shared_task(name=DRAIN_JOB, ignore_result=True)
def crm_outbox_drain(account_id: int | None = None) -> None:
    """Deliver an account's due CRM actions; without an account (the beat), start one drain per account."""
    if account_id is None:
        for due_account_id in accounts_with_due_actions():
            crm_outbox_drain.delay(account_id=due_account_id)
        return
    report = outbox_drain_account(account_id=account_id)
    if report.rounds:
        logger.info("CRM outbox of account %s: %d done, %d retried, %d dead, %d waiting%s", account_id,
                    report.done, report.retried, report.dead, report.released,
                    f" (stopped: {report.stopped})" if report.stopped else "")
