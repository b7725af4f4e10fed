"""Early payoff of an interest plan [J]: interest recomputed from the payment date, the term shortened or
the payments lowered, the principal still adding up to the amount financed to the kopeck."""
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.domain.early_payoff import (
    CurrentLine,
    InterestPlanTerms,
    PayoffError,
    interest_payoff_bounds,
    interest_payoff_plan,
)
from billing.domain.schedule import CustomItem, PlanError, PlanRequest, plan_build

D = Decimal
TERMS = InterestPlanTerms(kind="annuity", annual_rate=D("12"), day_count="30/360", period="month",
                          start_date=date(2027, 1, 1))


def current(plan, paid_lines: int) -> list[CurrentLine]:
    return [CurrentLine(line.due_date, line.amount, line.amount if index < paid_lines else D("0"), kind=line.kind,
                        interest=line.interest) for index, line in enumerate(plan.installments)]


def annuity(kind="annuity", day_count="30/360"):
    return plan_build(PlanRequest(plan=kind, total=D("100000"), first_due_date=date(2027, 2, 1),
                                  installments_count=12, annual_rate=D("12"), day_count=day_count))


def test_the_bounds_add_the_interest_accrued_since_the_last_due_date():
    lines = current(annuity(), paid_lines=2)
    lump_date, minimum, maximum, accrued = interest_payoff_bounds(lines, date(2027, 3, 15), TERMS)
    owed = D("100000") - D("7884.88") - D("7963.73")
    # 14 days (30E/360) on 84 151.39 at 12 %: 392.7065 → 392.71.
    assert accrued == D("392.71")
    assert (lump_date, minimum, maximum) == (date(2027, 3, 15), accrued, owed + accrued)


def test_paying_everything_owes_no_later_interest():
    plan = annuity()
    payoff = interest_payoff_plan(lines=current(plan, 2), lump_sum=D("84544.10"), mode="lower",
                                  today=date(2027, 3, 15), terms=TERMS)
    assert len(payoff.items) == 3
    assert [item.interest for item in payoff.items] == [D("1000.00"), D("921.15"), D("392.71")]
    assert sum(item.amount - item.interest for item in payoff.items) == D("100000.00")


def test_lower_keeps_the_dates_with_a_new_annuity_payment():
    plan = annuity()
    payoff = interest_payoff_plan(lines=current(plan, 2), lump_sum=D("20000"), mode="lower",
                                  today=date(2027, 3, 15), terms=TERMS)
    later = payoff.items[3:]
    assert [item.due_date for item in later] == [line.due_date for line in plan.installments[2:]]
    rest = Fraction("84544.10") - 20000
    # The first period runs from the payment (15 March) to 1 April: 16 days by 30E/360.
    exact = rest * Fraction(12, 100) * Fraction(16, 360)
    assert later[0].interest == (D(exact.numerator) / D(exact.denominator)).quantize(D("0.01"))
    assert later[0].interest == D("344.24")
    assert len({item.amount for item in later[:-1]}) <= 2  # an annuity: one payment (the first period is short)
    assert later[1].amount < plan.installments[3].amount
    assert sum(item.amount - item.interest for item in payoff.items) == D("100000.00")
    assert sum(item.interest for item in payoff.items) < plan.interest_total


def test_shorten_keeps_the_payment_and_ends_earlier():
    plan = annuity()
    payoff = interest_payoff_plan(lines=current(plan, 2), lump_sum=D("20000"), mode="shorten",
                                  today=date(2027, 3, 15), terms=TERMS)
    later = payoff.items[3:]
    assert all(item.amount == D("8884.88") for item in later[:-1])
    assert later[-1].amount <= D("8884.88")
    assert later[-1].due_date < plan.installments[-1].due_date
    assert sum(item.amount - item.interest for item in payoff.items) == D("100000.00")


def test_overdue_lines_and_the_accrued_interest_must_be_in_the_lump():
    with pytest.raises(PayoffError) as refused:
        interest_payoff_plan(lines=current(annuity(), 1), lump_sum=D("5000"), mode="lower",
                             today=date(2027, 3, 15), terms=TERMS)
    assert refused.value.reason == "below_minimum"
    assert refused.value.limit == D("8884.88") + D("392.71")


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(["annuity", "differentiated"]), count=st.integers(2, 36),
       rate=st.integers(0, 50000).map(lambda x: D(x) / 100),
       day_count=st.sampled_from(["actual/365", "actual/actual", "30/360"]),
       paid=st.integers(0, 35), days=st.integers(0, 1200), share=st.fractions(0, 1),
       mode=st.sampled_from(["shorten", "lower"]), total=st.integers(10000, 10**9).map(lambda k: D(k) / 100))
def test_the_new_plan_is_exact_ordered_and_positive(kind, count, rate, day_count, paid, days, share, mode, total):
    try:
        plan = plan_build(PlanRequest(plan=kind, total=total, first_due_date=date(2027, 2, 1),
                                      installments_count=count, annual_rate=rate, day_count=day_count))
    except PlanError:
        return
    terms = InterestPlanTerms(kind=kind, annual_rate=rate, day_count=day_count, period="month",
                              start_date=date(2027, 1, 1))
    lines = current(plan, min(paid, count - 1))
    today = date(2027, 1, 1) + timedelta(days=days)
    _, minimum, maximum, _ = interest_payoff_bounds(lines, today, terms)
    lump = (minimum + (maximum - minimum) * D(share.numerator) / D(share.denominator)).quantize(D("0.01"))
    if lump <= 0 or lump > maximum or lump < minimum:
        return
    payoff = interest_payoff_plan(lines=lines, lump_sum=lump, mode=mode, today=today, terms=terms)
    items = payoff.items
    assert sum(item.amount - item.interest for item in items) == total
    assert all(item.amount > 0 and 0 <= item.interest <= item.amount for item in items)
    assert all(earlier.due_date < later.due_date for earlier, later in pairwise(items))
    # A custom plan of these items is a plan the engine accepts, with the same principal.
    rebuilt = plan_build(PlanRequest(plan="custom", total=total, items=tuple(
        CustomItem(item.due_date, item.amount, item.interest) for item in items)))
    assert rebuilt.interest_total == sum(item.interest for item in items)
