"""Idempotency-Key: same key and body replay the first answer; another body is a conflict."""
import pytest

from billing.models import Payment, Schedule
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
