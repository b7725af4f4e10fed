"""Idempotency-Key: same key and body replay the first answer; another body is a conflict."""
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import IdempotencyRecord, Payment, Schedule
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db
LEAD = 31337


def test_same_key_same_body_replays_the_first_answer_without_a_second_payment(widget, school_plan):
    widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan)
    body = {"amount": "1000.00", "method": "cash", "paid_at": "2026-11-20"}
    first = widget.post(f"/api/v1/deals/{LEAD}/payments", body, idempotency_key="pay-1")
    again = widget.post(f"/api/v1/deals/{LEAD}/payments", body, idempotency_key="pay-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1


def test_same_key_with_another_body_is_409(widget, school_plan):
    widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan)
    widget.post(f"/api/v1/deals/{LEAD}/payments", {"amount": "1000.00", "method": "cash",
                                                   "paid_at": "2026-11-20"}, idempotency_key="pay-1")
    response = widget.post(f"/api/v1/deals/{LEAD}/payments", {"amount": "2000.00", "method": "cash",
                                                              "paid_at": "2026-11-20"}, idempotency_key="pay-1")
    assert_error(response, 409, "idempotency_key_reused")
    assert Payment.objects.count() == 1


def test_schedule_put_replayed_makes_one_version(widget, school_plan):
    widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan, idempotency_key="plan-1")
    widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan, idempotency_key="plan-1")
    assert Schedule.objects.count() == 1


def test_a_refused_request_is_replayed_as_refused(widget, school_plan):
    widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan)
    body = {"amount": "999999.00", "method": "cash", "paid_at": "2026-11-20"}
    first = widget.post(f"/api/v1/deals/{LEAD}/payments", body, idempotency_key="too-much")
    again = widget.post(f"/api/v1/deals/{LEAD}/payments", body, idempotency_key="too-much")
    assert_error(first, 422, "overpayment")
    assert_error(again, 422, "overpayment")
    assert not Payment.objects.exists()


def test_keys_are_per_account(widget, other_widget, school_plan):
    widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan, idempotency_key="k")
    response = other_widget.put("/api/v1/deals/555/schedule", school_plan, idempotency_key="k")
    assert response.status_code == 200


def test_a_handler_failing_unexpectedly_releases_the_key_so_a_retry_runs(widget, school_plan, monkeypatch):
    widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan)
    body = {"amount": "1000.00", "method": "cash", "paid_at": "2026-11-20"}

    def crash(**kwargs):
        raise RuntimeError("lost the database connection")

    with monkeypatch.context() as patch:
        patch.setattr("widget_api.api.deals.payment_record", crash)
        with pytest.raises(RuntimeError):
            widget.post(f"/api/v1/deals/{LEAD}/payments", body, idempotency_key="pay-1")
    assert not IdempotencyRecord.objects.exists()
    retry = widget.post(f"/api/v1/deals/{LEAD}/payments", body, idempotency_key="pay-1")
    assert retry.status_code == 201
    assert Payment.objects.count() == 1


def test_a_repeat_of_a_key_still_in_progress_is_409_request_in_progress(widget, school_plan, settings):
    settings.IDEMPOTENCY_IN_PROGRESS_WAIT_SECONDS = 0.1
    widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan)
    body = {"amount": "1000.00", "method": "cash", "paid_at": "2026-11-20"}
    widget.post(f"/api/v1/deals/{LEAD}/payments", body, idempotency_key="pay-1")
    IdempotencyRecord.objects.update(response_status=0, response_body="")  # as if the first were still running
    assert_error(widget.post(f"/api/v1/deals/{LEAD}/payments", body, idempotency_key="pay-1"),
                 409, "request_in_progress")
    assert Payment.objects.count() == 1


def test_a_key_abandoned_in_progress_past_the_lease_is_taken_over_without_doing_the_work_twice(
        widget, school_plan, settings):
    widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan)
    body = {"amount": "1000.00", "method": "cash", "paid_at": "2026-11-20"}
    first = widget.post(f"/api/v1/deals/{LEAD}/payments", body, idempotency_key="pay-1")
    IdempotencyRecord.objects.update(  # the request died after the payment committed, before its answer
        response_status=0, response_body="",
        created_at=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_IN_PROGRESS_LEASE_SECONDS + 1))
    again = widget.post(f"/api/v1/deals/{LEAD}/payments", body, idempotency_key="pay-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert Payment.objects.count() == 1
    assert IdempotencyRecord.objects.get().response_status == 201
