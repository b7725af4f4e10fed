"""Stored plan requests are complete, and an old version's request is rebuilt from its own lines."""
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.domain.plan_request import (
    PLAN_FIELDS,
    StoredLine,
    plan_request_as_dict,
    plan_request_from_dict,
    plan_request_reconstruct,
)
from billing.domain.schedule import CustomItem, DownPayment, ExtraCharge, PlanRequest, plan_build


def stored_lines(request: PlanRequest) -> list[StoredLine]:
    return [StoredLine(line.seq, line.kind, line.label, line.due_date, line.amount)
            for line in plan_build(request).installments]


def reconstructed(request: PlanRequest, stored: dict | None = None) -> dict:
    plan = plan_build(request)
    return plan_request_reconstruct(plan=request.plan, total=plan.total, already_paid=plan.already_paid,
                                    lines=stored_lines(request), stored=stored)


def same_lines(first: PlanRequest, second: PlanRequest) -> bool:
    return plan_build(first).installments == plan_build(second).installments


def test_a_stored_request_names_every_field_with_defaults_and_resolved_dates():
    request = PlanRequest(plan="equal", total=Decimal("120000"), installments_count=12,
                          first_due_date=date(2027, 1, 10), rounding=Decimal("1"),
                          down_payment=DownPayment(Decimal("5000")),
                          extra_charges=(ExtraCharge("Госпошлина", Decimal("300")),))
    data = plan_request_as_dict(request)
    assert set(data) == set(PLAN_FIELDS)
    assert data["total"] == "120000.00"
    assert data["already_paid"] == "0.00"
    assert data["period"] == "month"
    assert data["rounding"] == "1"
    assert data["down_payment"] == {"amount": "5000.00", "due_date": "2027-01-10"}
    assert data["extra_charges"] == [{"label": "Госпошлина", "amount": "300.00", "due_date": "2027-01-10"}]
    assert same_lines(plan_request_from_dict(data), request)


def test_a_two_weekly_plan_with_a_down_payment_is_rebuilt_as_two_weekly():
    request = PlanRequest(plan="equal", total=Decimal("60000"), installments_count=4, period="2weeks",
                          first_due_date=date(2027, 1, 4), down_payment=DownPayment(Decimal("12000"), date(2027, 1, 2)))
    data = reconstructed(request)
    assert data["period"] == "2weeks"
    assert data["installments_count"] == 4
    assert data["down_payment"] == {"amount": "12000.00", "due_date": "2027-01-02"}
    assert same_lines(plan_request_from_dict(data), request)


def test_a_last_day_monthly_plan_keeps_its_day_rounding_and_labelled_extra_charge():
    request = PlanRequest(plan="equal", total=Decimal("100000"), installments_count=7, due_day="last",
                          first_due_date=date(2027, 1, 31), rounding=Decimal("100"),
                          down_payment=DownPayment(Decimal("10000"), date(2027, 1, 15)),
                          extra_charges=(ExtraCharge("Госпошлина", Decimal("1500"), date(2027, 2, 1)),))
    data = reconstructed(request)
    assert (data["period"], data["due_day"], data["rounding"]) == ("month", "last", "100")
    assert data["total"] == "100000.00"
    assert data["extra_charges"] == [{"label": "Госпошлина", "amount": "1500.00", "due_date": "2027-02-01"}]
    assert same_lines(plan_request_from_dict(data), request)


def test_a_plan_made_by_payment_amount_is_rebuilt_by_that_amount():
    request = PlanRequest(plan="equal", total=Decimal("100000"), installment_amount=Decimal("30000"),
                          first_due_date=date(2027, 3, 15))
    data = reconstructed(request)
    assert data["installment_amount"] == "30000.00"
    assert same_lines(plan_request_from_dict(data), request)


def test_custom_and_full_plans_keep_their_kind_and_dates():
    custom = PlanRequest(plan="custom", total=Decimal("36000"),
                         items=(CustomItem(date(2027, 1, 5), Decimal("12000")),
                                CustomItem(date(2027, 2, 12), Decimal("24000"))))
    full = PlanRequest(plan="full", total=Decimal("45000"), first_due_date=date(2027, 1, 9))
    for request in (custom, full):
        data = reconstructed(request)
        assert data["plan"] == request.plan
        assert same_lines(plan_request_from_dict(data), request)


def test_what_the_old_request_said_is_kept_when_it_still_rebuilds_the_same_lines():
    request = PlanRequest(plan="equal", total=Decimal("90000"), installments_count=3,
                          first_due_date=date(2027, 1, 5), due_day=5)
    data = reconstructed(request, stored={"plan": "equal", "total": 90000, "rounding": "100", "demo": True})
    assert data["rounding"] == "100"
    assert "demo" not in data


def test_lines_no_equal_plan_explains_are_kept_as_items_never_moved():
    lines = [StoredLine(1, "regular", "Installment", date(2027, 1, 5), Decimal("100.00")),
             StoredLine(2, "regular", "Installment", date(2027, 1, 20), Decimal("300.00"))]
    data = plan_request_reconstruct(plan="equal", total=Decimal("400"), already_paid=Decimal("0"), lines=lines)
    assert [item["due_date"] for item in data["items"]] == ["2027-01-05", "2027-01-20"]


@settings(max_examples=60, deadline=None)
@given(count=st.integers(1, 24), period=st.sampled_from(["month", "2weeks", "week", "quarter"]),
       day=st.sampled_from([None, "last", 5, 28, 31]), rounding=st.sampled_from(["0.01", "1", "100"]),
       first=st.dates(date(2026, 1, 1), date(2030, 12, 31)), cents=st.integers(500_000, 50_000_000))
def test_any_equal_plan_is_rebuilt_to_the_same_lines(count, period, day, rounding, first, cents):
    due_day = day if period in ("month", "quarter") else None
    request = PlanRequest(plan="equal", total=Decimal(cents) / 100, installments_count=count, period=period,
                          due_day=due_day, first_due_date=first, rounding=Decimal(rounding))
    try:
        plan_build(request)
    except ValueError:
        pytest.skip("not a plan")
    assert same_lines(plan_request_from_dict(reconstructed(request)), request)
