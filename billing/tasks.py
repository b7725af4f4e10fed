"""Celery tasks of the money core: thin, id-based, safe to run twice."""
import logging

from celery import shared_task
from django.conf import settings

from billing.services.analytics_rollup import analytics_rollup_fold
from billing.services.billing_run import billing_run
from billing.services.deal_status import deal_status_tick
from billing.services.maintenance import idempotency_records_purge
from billing.services.relay import events_relay_run

logger = logging.getLogger(__name__)


@shared_task(name="billing.purge_idempotency_records")
def purge_idempotency_records() -> int:
    return idempotency_records_purge(older_than_hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


@shared_task(name="billing.tick")
def billing_tick() -> dict:
    report = billing_run()
    return {"issued": report.issued, "pending": report.pending, "stuck": report.stuck, "refused": report.refused,
            "payouts": report.payouts, "payouts_overdue": report.payouts_overdue}


@shared_task(name="billing.refresh_deal_statuses")
def refresh_deal_statuses() -> int:
    return deal_status_tick()


@shared_task(name="billing.events_relay", ignore_result=True)
def events_relay(event_ids: list[int] | None = None) -> dict:
    """The beat tick (every due event delivery: gateway cancels, fiscal receipts, documents and emails,
    the CRM feed, and their retries) or an on-commit nudge (the deliveries of the events it names)."""
    report = events_relay_run(event_ids=event_ids)
    if report.handled or report.lost:
        logger.info("event relay: %d done, %d retried, %d dead, %d released, %d lost", report.done,
                    report.retried, report.dead, report.released, report.lost)
    return {"done": report.done, "retried": report.retried, "dead": report.dead}


@shared_task(name="billing.analytics_fold", ignore_result=True)
def analytics_fold() -> dict:
    """The beat tick: fold the deals changed since the last one into the analytics day totals."""
    report = analytics_rollup_fold()
    return {"deals": report.deals, "batches": report.batches, "busy": report.busy}
