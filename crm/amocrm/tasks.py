"""Celery tasks of the amoCRM adapter: thin, id-based, safe to run twice (names kept from widget_api)."""
import logging

from celery import shared_task

from crm import port
from crm.amocrm.adapter import KIND
from crm.amocrm.errors import CrmNotSent, CrmTransient
from crm.amocrm.install import crm_install_finish, crm_revoke_confirm
from crm.amocrm.oauth import crm_tokens_refresh_due
from crm.amocrm.payout_tasks import payout_tasks_poll_all

logger = logging.getLogger(__name__)


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
    """Record the payouts whose accountant task was completed in the CRM: amoCRM's (polled: see payout_tasks)
    and every other adapter's (Bitrix24), through the CRM port."""
    reports = payout_tasks_poll_all()
    recorded = sum(report.recorded for report in reports.values())
    recorded += sum(adapter.completed_tasks_poll() for adapter in port.adapters() if adapter.kind != KIND)
    if recorded:
        logger.info("payout tasks: %d payouts recorded", recorded)
    return recorded
