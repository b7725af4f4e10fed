"""Housekeeping: idempotency answers are kept for the promised window, then forgotten."""
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from billing.models import IdempotencyRecord
from billing.tasks import purge_idempotency_records

pytestmark = pytest.mark.django_db


def test_idempotency_records_older_than_the_window_are_purged(widget, school_plan, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 72
    widget.put("/api/v1/deals/1/schedule", school_plan, idempotency_key="old")
    with time_machine.travel(timezone.now() + timedelta(hours=71)):
        assert purge_idempotency_records() == 0
    with time_machine.travel(timezone.now() + timedelta(hours=73)):
        assert purge_idempotency_records() == 1
    assert not IdempotencyRecord.objects.exists()
