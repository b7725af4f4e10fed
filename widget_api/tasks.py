"""Celery tasks of the amoCRM side: thin, id-based, safe to run twice."""
import logging

from celery import shared_task

from widget_api.amocrm.drain import outbox_drain_account
from widget_api.amocrm.errors import CrmNotSent, CrmTransient
from widget_api.amocrm.install import crm_install_finish, crm_revoke_confirm
from widget_api.amocrm.oauth import crm_tokens_refresh_due
from widget_api.amocrm.outbox import accounts_with_due_actions

logger = logging.getLogger(__name__)


@shared_task(name="widget_api.crm_outbox_drain", ignore_result=True)
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


@shared_task(name="widget_api.crm_tokens_refresh", ignore_result=True)
def crm_tokens_refresh() -> int:
    return crm_tokens_refresh_due()


# Celery's own retries: countdown = factor * 2**retries, capped at an hour, no jitter.
@shared_task(name="widget_api.crm_install_finish", ignore_result=True, max_retries=5, autoretry_for=(CrmTransient,),
             retry_backoff=60, retry_backoff_max=3600, retry_jitter=False)
def crm_install_finish_task(account_id: int) -> None:
    crm_install_finish(account_id=account_id)


@shared_task(name="widget_api.crm_revoke_confirm", ignore_result=True, max_retries=8,
             autoretry_for=(CrmTransient, CrmNotSent), retry_backoff=30, retry_backoff_max=3600, retry_jitter=False)
def crm_revoke_confirm_task(account_id: int, install_generation: int) -> None:
    crm_revoke_confirm(account_id=account_id, install_generation=install_generation)


@shared_task(name="widget_api.crm_payout_tasks_poll", ignore_result=True)
def crm_payout_tasks_poll() -> int:
    """Record the payouts whose accountant task was completed in amoCRM (polled: see payout_tasks)."""
    from widget_api.amocrm.payout_tasks import payout_tasks_poll_all

    reports = payout_tasks_poll_all()
    recorded = sum(report.recorded for report in reports.values())
    if recorded:
        logger.info("payout tasks: %d payouts recorded", recorded)
    return recorded
