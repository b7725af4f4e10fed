"""Housekeeping writes: expiring what is only kept for a while."""
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from billing.models import IdempotencyRecord


@transaction.atomic
def idempotency_records_purge(*, older_than_hours: int) -> int:
    """Forget Idempotency-Key answers older than the promised window; returns how many were removed."""
    cutoff = timezone.now() - timedelta(hours=older_than_hours)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
