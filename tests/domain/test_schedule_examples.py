"""Schedule engine, on the cases the customers brought."""
from datetime import date
from decimal import Decimal

import pytest

from billing.domain.schedule import CustomItem, DownPayment, ExtraCharge, PlanError, PlanRequest, plan_build


def amounts(plan):
    return [line.amount for line in plan.installments]


def dates(plan):
    return [line.due_date for line in plan.installments]


def test_school_course_160000_in_six_months_splits_evenly():
    plan = plan_build(PlanRequest(plan="equal", total=Decimal("160000"), installments_count=6,
                                  first_due_date=date(2026, 12, 5)))
    assert amounts(plan) == [Decimal("26666.66")] * 5 + [Decimal("26666.70")]
    assert sum(amounts(plan)) == Decimal("160000.00")
    assert dates(plan) == [date(2026, 12, 5), date(2027, 1, 5), date(2027, 2, 5), date(2027, 3, 5),
                           date(2027, 4, 5), date(2027, 5, 5)]


def test_whole_rouble_rounding_puts_the_remainder_on_the_last_installment():
    plan = plan_build(PlanRequest(plan="equal", total=Decimal("160000"), installments_count=6,
                                  first_due_date=date(2026, 12, 5), rounding=Decimal("1")))
    assert amounts(plan) == [Decimal("26666")] * 5 + [Decimal("26670")]


def test_lawyers_100000_in_three_with_a_state_fee_line():
    plan = plan_build(PlanRequest(
        plan="equal", total=Decimal("100000"), installments_count=3, first_due_date=date(2026, 12, 10),
        extra_charges=(ExtraCharge("Госпошлина", Decimal("1500"), date(2026, 12, 10)),)))
    assert [(line.kind, line.amount) for line in plan.installments] == [
        ("regular", Decimal("33333.33")), ("extra", Decimal("1500.00")),
        ("regular", Decimal("33333.33")), ("regular", Decimal("33333.34"))]
    assert plan.total == Decimal("101500.00")
    assert plan.debt == Decimal("101500.00")
    assert plan.installments[1].label == "Госпошлина"
    assert [line.seq for line in plan.installments] == [1, 2, 3, 4]


def test_31_january_start_with_due_day_31_clamps_to_month_end_without_drifting():
    plan = plan_build(PlanRequest(plan="equal", total=Decimal("4000"), installments_count=4,
                                  first_due_date=date(2027, 1, 31), due_day=31))
    assert dates(plan) == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]


def test_leap_february_clamps_to_the_29th():
    plan = plan_build(PlanRequest(plan="equal", total=Decimal("300"), installments_count=3,
                                  first_due_date=date(2028, 1, 31), due_day="last"))
    assert dates(plan) == [date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31)]


def test_contract_example_with_down_payment_already_paid_and_fee():
    plan = plan_build(PlanRequest(
        plan="equal", total=Decimal("160000"), already_paid=Decimal("10000"),
        down_payment=DownPayment(Decimal("20000"), date(2026, 12, 1)), installments_count=6,
        first_due_date=date(2026, 12, 5), due_day=5,
        extra_charges=(ExtraCharge("State fee", Decimal("1500"), date(2026, 12, 5)),)))
    assert plan.total == Decimal("161500.00")
    assert plan.already_paid == Decimal("10000.00")
    assert plan.debt == Decimal("151500.00")
    assert plan.installments[0].kind == "down_payment"
    assert plan.installments[0].amount == Decimal("20000.00")
    assert plan.regular_amount == Decimal("21666.66")
    assert sum(amounts(plan)) == plan.debt
    assert len(plan.installments) == 8


def test_monthly_amount_plan_makes_the_last_payment_smaller():
    plan = plan_build(PlanRequest(plan="equal", total=Decimal("100000"), installment_amount=Decimal("30000"),
                                  first_due_date=date(2026, 12, 1)))
    assert amounts(plan) == [Decimal("30000.00")] * 3 + [Decimal("10000.00")]


def test_full_plan_is_one_line_of_the_debt():
    plan = plan_build(PlanRequest(plan="full", total=Decimal("5000"), already_paid=Decimal("1000"),
                                  first_due_date=date(2026, 12, 1)))
    assert amounts(plan) == [Decimal("4000.00")]


def test_quarterly_and_weekly_periods():
    quarterly = plan_build(PlanRequest(plan="equal", total=Decimal("400"), installments_count=3,
                                       first_due_date=date(2026, 11, 30), period="quarter", due_day="last"))
    assert dates(quarterly) == [date(2026, 11, 30), date(2027, 2, 28), date(2027, 5, 31)]
    weekly = plan_build(PlanRequest(plan="equal", total=Decimal("300"), installments_count=3,
                                    first_due_date=date(2026, 12, 28), period="2weeks"))
    assert dates(weekly) == [date(2026, 12, 28), date(2027, 1, 11), date(2027, 1, 25)]


def test_house_builder_custom_tranches_by_month_end():
    items = (CustomItem(date(2026, 12, 31), Decimal("150000")), CustomItem(date(2027, 1, 31), Decimal("150000")),
             CustomItem(date(2027, 2, 28), Decimal("100000")))
    plan = plan_build(PlanRequest(plan="custom", total=Decimal("400000"), items=items))
    assert amounts(plan) == [Decimal("150000.00"), Decimal("150000.00"), Decimal("100000.00")]


@pytest.mark.parametrize(("request_", "field"), [
    (PlanRequest(plan="equal", total=Decimal("100"), already_paid=Decimal("100"), installments_count=1,
                 first_due_date=date(2026, 12, 1)), "already_paid"),
    (PlanRequest(plan="equal", total=Decimal("100"), first_due_date=date(2026, 12, 1)), "installments_count"),
    (PlanRequest(plan="equal", total=Decimal("100"), installments_count=2, installment_amount=Decimal("50"),
                 first_due_date=date(2026, 12, 1)), "installments_count"),
    (PlanRequest(plan="equal", total=Decimal("100"), installments_count=0, first_due_date=date(2026, 12, 1)),
     "installments_count"),
    (PlanRequest(plan="equal", total=Decimal("100"), installments_count=3, first_due_date=date(2026, 12, 1),
                 rounding=Decimal("100")), "installments_count"),
    (PlanRequest(plan="custom", total=Decimal("100"), items=(CustomItem(date(2026, 12, 1), Decimal("60")),)),
     "items"),
    (PlanRequest(plan="custom", total=Decimal("100"), items=(CustomItem(date(2026, 12, 2), Decimal("50")),
                                                             CustomItem(date(2026, 12, 1), Decimal("50")))),
     "items.1.due_date"),
    (PlanRequest(plan="equal", total=Decimal("100"), installments_count=2, first_due_date=date(2026, 12, 1),
                 down_payment=DownPayment(Decimal("10"), date(2026, 12, 2))), "down_payment"),
    (PlanRequest(plan="equal", total=Decimal("100"), installments_count=2, first_due_date=date(2026, 12, 1),
                 down_payment=DownPayment(Decimal("100"))), "down_payment"),
    (PlanRequest(plan="equal", total=Decimal("100"), installments_count=2, first_due_date=date(1900, 1, 1)),
     "first_due_date"),
    (PlanRequest(plan="equal", total=Decimal("100"), installments_count=2, first_due_date=date(2026, 12, 1),
                 period="week", due_day=5), "due_day"),
    (PlanRequest(plan="equal", total=Decimal("100"), installments_count=2), "first_due_date"),
    (PlanRequest(plan="monthly", total=Decimal("100"), first_due_date=date(2026, 12, 1)), "plan"),
    (PlanRequest(plan="equal", total=Decimal("0"), installments_count=2, first_due_date=date(2026, 12, 1)),
     "total"),
])
def test_impossible_plans_name_the_field(request_, field):
    with pytest.raises(PlanError) as error:
        plan_build(request_)
    assert error.value.field == field
