"""Celery tasks of the money core: thin, id-based, safe to run twice."""
import logging

from celery import shared_task
from django.conf import settings

from billing.gateway.errors import GatewayError, GatewayUnavailable
from billing.services.billing_run import billing_run
from billing.services.deal_status import deal_status_tick
from billing.services.invoicing import invoice_gateway_cancel
from billing.services.maintenance import idempotency_records_purge
from billing.services.receipts import payment_receipt_send

logger = logging.getLogger(__name__)


@shared_task(name="billing.purge_idempotency_records")
def purge_idempotency_records() -> int:
    return idempotency_records_purge(older_than_hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


@shared_task(name="billing.tick")
def billing_tick() -> dict:
    report = billing_run()
    return {"issued": report.issued, "pending": report.pending, "stuck": report.stuck, "refused": report.refused}


@shared_task(name="billing.refresh_deal_statuses")
def refresh_deal_statuses() -> int:
    return deal_status_tick()


@shared_task(name="billing.cancel_gateway_order", bind=True, max_retries=8)
def cancel_gateway_order(self, invoice_id: int) -> None:
    try:
        invoice_gateway_cancel(invoice_id=invoice_id)
    except GatewayUnavailable as exc:
        raise self.retry(exc=exc, countdown=min(60 * 2**self.request.retries, 3600)) from exc
    except GatewayError as exc:
        logger.error("invoice %s: the gateway refused to cancel the order: %s", invoice_id, exc.message)


@shared_task(name="billing.send_fiscal_receipt", bind=True, max_retries=6)
def send_fiscal_receipt(self, payment_id: int) -> None:
    try:
        payment_receipt_send(payment_id=payment_id)
    except GatewayError as exc:
        raise self.retry(exc=exc, countdown=min(60 * 2**self.request.retries, 3600)) from exc
