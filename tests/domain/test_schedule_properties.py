"""Schedule engine properties: whatever the input, the money adds up and the dates make sense."""
from datetime import date
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from billing.domain.schedule import (
    ROUNDING_UNITS,
    CustomItem,
    DownPayment,
    ExtraCharge,
    PlanError,
    PlanRequest,
    plan_build,
)

kopecks = st.integers(min_value=1, max_value=10**11).map(lambda k: Decimal(k) / 100)
dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2060, 12, 31))
due_days = st.one_of(st.none(), st.integers(min_value=1, max_value=31), st.just("last"))


@st.composite
def equal_requests(draw):
    total = draw(kopecks)
    already_paid = draw(st.one_of(st.just(Decimal("0")), kopecks.filter(lambda a: a < total)))
    period = draw(st.sampled_from(["month", "2weeks", "week", "quarter"]))
    first = draw(dates)
    by_count = draw(st.booleans())
    down = draw(st.one_of(st.none(), kopecks.map(lambda a: DownPayment(a, first))))
    extras = draw(st.lists(st.builds(ExtraCharge, st.text(max_size=10), kopecks, dates), max_size=3))
    return PlanRequest(
        plan="equal", total=total, already_paid=already_paid, first_due_date=first, period=period,
        due_day=draw(due_days) if period in ("month", "quarter") else None,
        installments_count=draw(st.integers(1, 120)) if by_count else None,
        installment_amount=None if by_count else draw(kopecks),
        rounding=draw(st.sampled_from(ROUNDING_UNITS)), down_payment=down, extra_charges=tuple(extras),
    )


def check_invariants(request: PlanRequest, plan) -> None:
    lines = plan.installments
    assert sum(line.amount for line in lines) == plan.debt
    assert plan.debt == plan.total - plan.already_paid
    assert all(line.amount > 0 for line in lines)
    assert all(line.amount == line.amount.quantize(Decimal("0.01")) for line in lines)
    assert [line.seq for line in lines] == list(range(1, len(lines) + 1))
    assert [line.due_date for line in lines] == sorted(line.due_date for line in lines)
    regular = [line.due_date for line in lines if line.kind == "regular"]
    assert all(earlier < later for earlier, later in pairwise(regular))
    extras = sum(charge.amount for charge in request.extra_charges)
    assert plan.total == request.total + extras


@given(equal_requests())
def test_equal_plans_add_up_exactly_and_keep_dates_in_order(request):
    try:
        plan = plan_build(request)
    except PlanError:
        assume(False)
    check_invariants(request, plan)
    regular = [line for line in plan.installments if line.kind == "regular"]
    if request.installments_count is not None:
        assert len(regular) == request.installments_count
        assert all(line.amount % request.rounding == 0 for line in regular[:-1])
    extras = [line for line in plan.installments if line.kind == "extra"]
    assert len(extras) == len(request.extra_charges)


@given(kopecks, st.lists(st.integers(1, 10**9), min_size=1, max_size=40), dates)
def test_custom_plans_keep_their_items(total, weights, first):
    unit_total = sum(weights)
    amounts = [Decimal(w) * total / unit_total for w in weights]
    amounts = [a.quantize(Decimal("0.01")) for a in amounts]
    amounts[-1] = total - sum(amounts[:-1])
    assume(all(a > 0 for a in amounts))
    items = tuple(CustomItem(date.fromordinal(first.toordinal() + 30 * i), a) for i, a in enumerate(amounts))
    request = PlanRequest(plan="custom", total=total, items=items)
    plan = plan_build(request)
    check_invariants(request, plan)
    assert [line.amount for line in plan.installments] == amounts


@given(kopecks, st.integers(1, 120), dates, due_days)
def test_count_plans_have_exactly_n_lines(total, count, first, due_day):
    request = PlanRequest(plan="equal", total=total, installments_count=count, first_due_date=first,
                          due_day=due_day)
    if total / count < Decimal("0.01"):
        with pytest.raises(PlanError, match="Too many payments"):
            plan_build(request)
        return
    plan = plan_build(request)
    assert len(plan.installments) == count
    check_invariants(request, plan)
