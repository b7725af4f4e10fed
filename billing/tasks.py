"""Celery tasks of the money core: thin, id-based, safe to run twice."""
from celery import shared_task
from django.conf import settings

from billing.services.maintenance import idempotency_records_purge


@shared_task(name="billing.purge_idempotency_records")
def purge_idempotency_records() -> int:
    return idempotency_records_purge(older_than_hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
