"""Celery tasks of the Bitrix24 adapter: thin, id-based, safe to run twice."""
from celery import shared_task

from crm.bitrix24.errors import Transient
from crm.bitrix24.install import portal_setup
from crm.bitrix24.oauth import portals_refresh_idle


@shared_task(name="bitrix24.portal_setup", ignore_result=True, autoretry_for=(Transient,), retry_backoff=10,
             max_retries=6)
def portal_setup_task(portal_id: int) -> None:
    """After an install commits: user fields, event bindings, the deal tab."""
    portal_setup(portal_id=portal_id)


@shared_task(name="bitrix24.portals_refresh_idle", ignore_result=True)
def portals_refresh_idle_task() -> int:
    """Daily (beat): keep idle portals' refresh chains alive."""
    return portals_refresh_idle()
