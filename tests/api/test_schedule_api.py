"""Schedule endpoints: preview stores nothing, PUT makes a new active version."""
import pytest

from billing.models import Deal, Payment, Schedule
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db
LEAD = 31337


def test_preview_computes_the_contract_example_and_stores_nothing(widget):
    body = {"plan": "equal", "total": "160000.00", "already_paid": "10000.00",
            "down_payment": {"amount": "20000.00", "due_date": "2026-12-01"}, "installments_count": 6,
            "first_due_date": "2026-12-05", "due_day": 5, "rounding": "0.01",
            "extra_charges": [{"label": "State fee", "amount": "1500.00", "due_date": "2026-12-05"}],
            "group": "Stream 2026-11", "education_direction": "Cosmetology"}
    response = widget.post(f"/api/v1/deals/{LEAD}/schedule/preview", body)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["total"] == "161500.00"
    assert data["already_paid"] == "10000.00"
    assert data["debt"] == "151500.00"
    assert data["installments_count"] == 8
    assert data["version"] is None
    assert data["installments"][0] == {  # the label in the manager's language: Russian unless asked for English
        "seq": 1, "kind": "down_payment", "label": "Первый взнос", "due_date": "2026-12-01",
        "amount": "20000.00", "paid": "0.00", "status": "planned", "invoice": None, "days_overdue": 0,
        "interest": "0.00"}
    assert sum(__import__("decimal").Decimal(line["amount"]) for line in data["installments"]) == 151500
    assert not Schedule.objects.exists()
    assert not Payment.objects.exists()


def test_put_makes_version_one_then_two_and_keeps_history(widget, school_plan):
    first = widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan)
    assert first.status_code == 200, first.content
    assert first.json()["version"] == 1
    second = widget.put(f"/api/v1/deals/{LEAD}/schedule", {**school_plan, "installments_count": 4})
    assert second.json()["version"] == 2
    assert second.json()["installments_count"] == 4
    deal = Deal.objects.get(external_id=LEAD)
    assert deal.schedules.count() == 2
    assert deal.schedules.filter(is_active=True).get().version == 2
    assert deal.status == "active"


def test_json_numbers_are_accepted_and_returned_as_strings(widget):
    response = widget.post(f"/api/v1/deals/{LEAD}/schedule/preview", (
        '{"plan": "equal", "total": 1000.10, "installments_count": 3, "first_due_date": "2027-01-10"}'))
    assert response.status_code == 200, response.content
    assert [line["amount"] for line in response.json()["installments"]] == ["333.36", "333.36", "333.38"]


def test_already_paid_is_recorded_once_as_an_opening_payment(widget, school_plan):
    plan = {**school_plan, "already_paid": "10000.00"}
    widget.put(f"/api/v1/deals/{LEAD}/schedule", plan)
    widget.put(f"/api/v1/deals/{LEAD}/schedule", {**plan, "installments_count": 5})
    deal = widget.get(f"/api/v1/deals/{LEAD}").json()
    assert deal["paid"] == "10000.00"
    assert deal["debt"] == "150000.00"
    assert [p["method"] for p in deal["payments"]] == ["opening_balance"]


def test_changed_opening_balance_adds_a_correction_not_a_rewrite(widget, school_plan):
    widget.put(f"/api/v1/deals/{LEAD}/schedule", {**school_plan, "already_paid": "10000.00"})
    widget.put(f"/api/v1/deals/{LEAD}/schedule", {**school_plan, "already_paid": "4000.00"})
    payments = Payment.objects.order_by("id")
    assert [p.amount for p in payments] == [10000, -6000]
    assert widget.get(f"/api/v1/deals/{LEAD}").json()["debt"] == "156000.00"


def test_rebuild_reallocates_recorded_payments_onto_the_new_version(widget, school_plan):
    widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan)
    widget.post(f"/api/v1/deals/{LEAD}/payments", {"amount": "30000.00", "method": "cash",
                                                   "paid_at": "2026-11-20"})
    rebuilt = widget.put(f"/api/v1/deals/{LEAD}/schedule", {**school_plan, "installments_count": 2}).json()
    assert [(line["paid"], line["status"]) for line in rebuilt["installments"]] == [
        ("30000.00", "partially_paid"), ("0.00", "planned")]


def test_a_plan_below_what_was_already_paid_is_refused(widget, school_plan):
    widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan)
    widget.post(f"/api/v1/deals/{LEAD}/payments", {"amount": "50000.00", "method": "cash",
                                                   "paid_at": "2026-11-20"})
    response = widget.put(f"/api/v1/deals/{LEAD}/schedule", {**school_plan, "total": "40000.00"})
    assert_error(response, 422, "plan_below_paid", "total")
    assert Schedule.objects.filter(deal__external_id=LEAD).count() == 1


def test_outgoing_plan_is_kept_with_its_direction(widget):
    body = {"plan": "custom", "total": "300000.00", "direction": "outgoing",
            "items": [{"due_date": "2026-12-31", "amount": "100000.00"},
                      {"due_date": "2027-01-31", "amount": "100000.00"},
                      {"due_date": "2027-02-28", "amount": "100000.00"}]}
    response = widget.put(f"/api/v1/deals/{LEAD}/schedule", body)
    assert response.status_code == 200, response.content
    assert response.json()["direction"] == "outgoing"
    assert widget.get(f"/api/v1/deals/{LEAD}").json()["direction"] == "outgoing"


def test_the_active_plan_carries_its_request_to_pre_fill_a_rebuild(widget, school_plan):
    widget.put(f"/api/v1/deals/{LEAD}/schedule", {**school_plan, "rounding": "100", "period": "quarter"})
    schedule = widget.get(f"/api/v1/deals/{LEAD}").json()["schedule"]
    assert schedule["plan"] == "equal"
    assert (schedule["request"]["rounding"], schedule["request"]["period"]) == ("100", "quarter")
