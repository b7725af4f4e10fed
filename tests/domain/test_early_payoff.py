"""Early payoff maths: the new plan adds up to the same debt to the kopeck, dates strictly increase."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.domain.early_payoff import CurrentLine, PayoffError, payoff_bounds, payoff_plan

TODAY = date(2026, 11, 27)


def lines(amounts, paid_lines=0, first=date(2026, 12, 5)):
    return [CurrentLine(first + timedelta(days=30 * index), Decimal(amount),
                        Decimal(amount) if index < paid_lines else Decimal(0)) for index, amount in enumerate(amounts)]


def test_shorten_drops_the_last_lines():
    payoff = payoff_plan(lines=lines(["10000.00"] * 3), lump_sum=Decimal("15000"), mode="shorten", today=TODAY)
    assert [(item.due_date, item.amount) for item in payoff.items] == [
        (TODAY, Decimal("15000.00")), (date(2026, 12, 5), Decimal("10000.00")), (date(2027, 1, 4), Decimal("5000.00"))]


def test_lower_keeps_the_dates_and_the_last_line_absorbs_the_kopecks():
    payoff = payoff_plan(lines=lines(["10000.00"] * 3), lump_sum=Decimal("10000.01"), mode="lower", today=TODAY)
    assert [item.amount for item in payoff.items] == [Decimal("10000.01"), Decimal("6666.66"), Decimal("6666.66"),
                                                      Decimal("6666.67")]


def test_overdue_money_must_be_part_of_the_lump_sum():
    overdue = [CurrentLine(date(2026, 11, 5), Decimal(5000), Decimal(0)), *lines(["5000.00"] * 2)]
    with pytest.raises(PayoffError) as refused:
        payoff_plan(lines=overdue, lump_sum=Decimal(4000), mode="lower", today=TODAY)
    assert (refused.value.reason, refused.value.limit) == ("below_minimum", Decimal(5000))
    with pytest.raises(PayoffError):
        payoff_plan(lines=overdue, lump_sum=Decimal("15000.01"), mode="lower", today=TODAY)


@given(amounts=st.lists(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2),
                        min_size=1, max_size=24),
       paid=st.integers(min_value=0, max_value=23), share=st.fractions(min_value=0, max_value=1),
       mode=st.sampled_from(["shorten", "lower"]))
def test_the_new_plan_is_exact_ordered_and_positive(amounts, paid, share, mode):
    current = lines([str(amount) for amount in amounts], paid_lines=min(paid, len(amounts) - 1))
    unpaid = sum((line.amount - line.paid for line in current), Decimal(0))
    lump = max((unpaid * Decimal(share.numerator) / Decimal(share.denominator)).quantize(Decimal("0.01")),
               Decimal("0.01"))
    _, minimum, _ = payoff_bounds(current, TODAY)
    if lump < minimum:  # overdue money must be in the lump: refused, tested above
        return
    payoff = payoff_plan(lines=current, lump_sum=lump, mode=mode, today=TODAY)
    assert sum(item.amount for item in payoff.items) == sum(line.amount for line in current)
    assert all(item.amount > 0 for item in payoff.items)
    assert all(a.due_date < b.due_date for a, b in zip(payoff.items, payoff.items[1:], strict=False))
