"""Interest plans [J]: annuity and differentiated lines, principal + interest, exact to the kopeck.

The tables here are computed independently of the engine: with Fractions and the textbook formulas, then
rounded as the stated conventions say (billing.domain.interest)."""
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.domain.calendar import regular_due_dates
from billing.domain.schedule import CustomItem, DownPayment, ExtraCharge, PlanError, PlanRequest, plan_build

D = Decimal


def cents(value: Fraction) -> Decimal:
    return (D(value.numerator) / D(value.denominator)).quantize(D("0.01"), rounding=ROUND_HALF_UP)


def table_30_360(principal: str, rate: str, count: int, per_year: int = 12):
    """The classic amortization table: r = rate / periods a year; payment rounded to kopecks, each
    interest rounded, the last line repays what is left."""
    balance, r = Fraction(principal), Fraction(rate) / 100 / per_year
    payment = cents(Fraction(principal) * r / (1 - (1 + r) ** -count))
    rows = []
    for index in range(count):
        interest = Fraction(cents(balance * r))
        part = balance if index == count - 1 else Fraction(payment) - interest
        rows.append((cents(part + interest), cents(interest)))
        balance -= part
    return rows


def test_annuity_matches_the_textbook_table_100000_at_12_percent_for_12_months():
    plan = plan_build(PlanRequest(plan="annuity", total=D("100000"), first_due_date=date(2026, 2, 1),
                                  installments_count=12, annual_rate=D("12"), day_count="30/360"))
    lines = plan.installments
    # PMT(1 %, 12, 100 000) = 8 884.878…: the textbook figure.
    assert [line.amount for line in lines[:11]] == [D("8884.88")] * 11
    assert (lines[0].interest, lines[1].interest, lines[2].interest) == (D("1000.00"), D("921.15"), D("841.51"))
    assert [(line.amount, line.interest) for line in lines] == table_30_360("100000", "12", 12)
    assert sum(line.principal for line in lines) == D("100000.00")
    assert plan.interest_total == sum(line.interest for line in lines) == D("6618.53")
    assert plan.total == D("106618.53")
    assert plan.debt == plan.total
    # Effective rate of 12 % compounded monthly: (1.01)^12 − 1 = 12.68 % (days/365, so close to it).
    assert abs(plan.effective_rate - D("12.683")) < D("0.1")


@pytest.mark.parametrize(("principal", "rate", "count", "period", "per_year"), [
    ("250000", "18.5", 24, "month", 12), ("1000000", "7.9", 120, "month", 12), ("50000", "36", 8, "quarter", 4),
    ("12345.67", "99.99", 52, "week", 52), ("300000", "0.5", 26, "2weeks", 26), ("777.77", "1000", 7, "month", 12),
])
def test_annuity_30_360_matches_tables_computed_independently(principal, rate, count, period, per_year):
    plan = plan_build(PlanRequest(plan="annuity", total=D(principal), first_due_date=date(2027, 1, 31),
                                  installments_count=count, annual_rate=D(rate), day_count="30/360",
                                  period=period))
    assert [(line.amount, line.interest) for line in plan.installments] == table_30_360(principal, rate, count,
                                                                                       per_year)


def test_annuity_actual_365_counts_the_days_of_each_period():
    plan = plan_build(PlanRequest(plan="annuity", total=D("100000"), first_due_date=date(2026, 2, 1),
                                  installments_count=3, annual_rate=D("20")))
    lines = plan.installments
    # Jan: 31 days, Feb: 28 days, Mar: 31 days; the payment is the annuity formula's, r = 20 % / 12.
    r = Fraction(20, 1200)
    payment = cents(100000 * r / (1 - (1 + r) ** -3))
    first = cents(Fraction(100000) * Fraction(20, 100) * Fraction(31, 365))
    assert (lines[0].amount, lines[0].interest) == (payment, first)
    balance = Fraction(100000) - Fraction(payment - first)
    second = cents(balance * Fraction(20, 100) * Fraction(28, 365))
    assert (lines[1].amount, lines[1].interest) == (payment, second)
    balance -= Fraction(payment - second)
    third = cents(balance * Fraction(20, 100) * Fraction(31, 365))
    assert (lines[2].amount, lines[2].interest) == (cents(balance) + third, third)
    assert sum(line.principal for line in lines) == D("100000.00")


def test_differentiated_repays_equal_principal_and_interest_falls():
    plan = plan_build(PlanRequest(plan="differentiated", total=D("120000"), first_due_date=date(2026, 2, 1),
                                  installments_count=12, annual_rate=D("12"), day_count="30/360"))
    lines = plan.installments
    assert [line.principal for line in lines] == [D("10000.00")] * 12
    # 120 000 · 1 % = 1 200, then 1 100, 1 000 … 100: 7 800 in all.
    assert [line.interest for line in lines] == [D(1200 - 100 * i) for i in range(12)]
    assert plan.interest_total == D("7800.00")
    assert plan.total == D("127800.00")


def test_differentiated_remainder_goes_to_the_last_line():
    plan = plan_build(PlanRequest(plan="differentiated", total=D("1000"), first_due_date=date(2026, 2, 1),
                                  installments_count=3, annual_rate=D("0")))
    assert [line.principal for line in plan.installments] == [D("333.33"), D("333.33"), D("333.34")]
    assert plan.interest_total == D("0.00")
    assert plan.effective_rate == D("0.000")


def test_grace_period_lines_carry_interest_only():
    plan = plan_build(PlanRequest(plan="annuity", total=D("100000"), first_due_date=date(2026, 2, 1),
                                  installments_count=14, annual_rate=D("12"), day_count="30/360",
                                  grace_periods=2))
    lines = plan.installments
    assert [(line.principal, line.interest) for line in lines[:2]] == [(D("0"), D("1000.00"))] * 2
    assert [(line.amount, line.interest) for line in lines[2:]] == table_30_360("100000", "12", 12)


def test_a_later_start_accrues_interest_from_the_start_date():
    plan = plan_build(PlanRequest(plan="differentiated", total=D("36500"), first_due_date=date(2026, 3, 1),
                                  installments_count=2, annual_rate=D("10"), start_date=date(2026, 1, 1)))
    # 59 days on 36 500 at 10 % actual/365 = 590.00; then 31 days on 18 250 = 155.00.
    assert [line.interest for line in plan.installments] == [D("590.00"), D("155.00")]


def test_payment_amount_gives_a_flexible_last_payment():
    plan = plan_build(PlanRequest(plan="annuity", total=D("100000"), first_due_date=date(2026, 2, 1),
                                  installment_amount=D("10000"), annual_rate=D("12"), day_count="30/360"))
    lines = plan.installments
    assert all(line.amount == D("10000.00") for line in lines[:-1])
    assert D("0") < lines[-1].amount < D("10000.00")
    assert sum(line.principal for line in lines) == D("100000.00")


def test_actual_actual_splits_a_period_across_a_leap_year_end():
    plan = plan_build(PlanRequest(plan="differentiated", total=D("100000"), first_due_date=date(2028, 1, 15),
                                  installments_count=1, annual_rate=D("10"), day_count="actual/actual",
                                  start_date=date(2027, 12, 15)))
    expected = cents(Fraction(100000) * Fraction(10, 100) * (Fraction(17, 365) + Fraction(14, 366)))
    assert plan.installments[0].interest == expected


@pytest.mark.parametrize(("changes", "field"), [
    ({"annual_rate": D("-1")}, "annual_rate"), ({"annual_rate": D("1000.01")}, "annual_rate"),
    ({"grace_periods": 12}, "grace_periods"), ({"grace_periods": 13}, "grace_periods"),
    ({"grace_periods": -1}, "grace_periods"), ({"day_count": "30/365"}, "day_count"),
    ({"start_date": date(2026, 2, 2)}, "start_date"),
    ({"installments_count": None, "installment_amount": D("900")}, "installment_amount"),
    ({"installments_count": None}, "installments_count"),
])
def test_bad_interest_input_names_the_field(changes, field):
    base = {"plan": "annuity", "total": D("100000"), "first_due_date": date(2026, 2, 1),
            "installments_count": 12, "annual_rate": D("12")}
    with pytest.raises(PlanError) as error:
        plan_build(PlanRequest(**(base | changes)))
    assert error.value.field == field


def test_custom_items_may_carry_interest():
    plan = plan_build(PlanRequest(plan="custom", total=D("1000"), items=(
        CustomItem(date(2026, 2, 1), D("600"), D("100")), CustomItem(date(2026, 3, 1), D("550"), D("50")))))
    assert plan.interest_total == D("150.00")
    assert plan.total == D("1150.00")
    with pytest.raises(PlanError) as error:
        plan_build(PlanRequest(plan="custom", total=D("1000"), items=(
            CustomItem(date(2026, 2, 1), D("600"), D("700")), CustomItem(date(2026, 3, 1), D("400")))))
    assert error.value.field == "items.0.interest"


# --- properties -----------------------------------------------------------------------------------------
kopecks = st.integers(min_value=100, max_value=10**10).map(lambda k: Decimal(k) / 100)


@st.composite
def interest_requests(draw):
    total = draw(kopecks)
    period = draw(st.sampled_from(["month", "2weeks", "week", "quarter"]))
    first = draw(st.dates(min_value=date(2020, 1, 1), max_value=date(2060, 12, 31)))
    by_count = draw(st.booleans())
    count = draw(st.integers(1, 120))
    grace = draw(st.integers(0, 3))
    down = draw(st.one_of(st.none(), kopecks.map(lambda a: DownPayment(a, first))))
    return PlanRequest(
        plan=draw(st.sampled_from(["annuity", "differentiated"])), total=total, first_due_date=first,
        period=period, due_day=draw(st.one_of(st.none(), st.integers(1, 31), st.just("last")))
        if period in ("month", "quarter") else None,
        installments_count=count if by_count else None,
        installment_amount=None if by_count else draw(kopecks),
        annual_rate=draw(st.integers(0, 100000).map(lambda x: Decimal(x) / 100)),
        day_count=draw(st.sampled_from(["actual/365", "actual/actual", "30/360"])),
        grace_periods=grace if by_count and grace < count else 0,
        rounding=draw(st.sampled_from([D("0.01"), D("1"), D("100")])),
        down_payment=down,
        extra_charges=tuple(draw(st.lists(st.builds(ExtraCharge, st.just("x"), kopecks, st.just(first)),
                                          max_size=2))),
    )


@settings(max_examples=300, deadline=None)
@given(interest_requests())
def test_interest_plans_add_up_exactly_and_keep_dates_in_order(request):
    try:
        plan = plan_build(request)
    except PlanError:
        return
    lines = plan.installments
    regular = [line for line in lines if line.kind == "regular"]
    down = request.down_payment.amount if request.down_payment else D("0")
    extras = sum((charge.amount for charge in request.extra_charges), D("0"))
    assert sum(line.principal for line in regular) == request.total - down  # principal = amount financed
    assert sum(line.amount for line in lines) == plan.debt == request.total + extras + plan.interest_total
    assert plan.interest_total == sum(line.interest for line in lines)
    assert all(line.amount > 0 and line.interest >= 0 and line.principal >= 0 for line in lines)
    assert all(line.amount == line.amount.quantize(D("0.01")) for line in lines)
    assert all(later.due_date > earlier.due_date for earlier, later in pairwise(regular))
    assert [line.due_date for line in lines] == sorted(line.due_date for line in lines)
    assert plan_build(request) == plan  # the same request, the same plan
    if request.installments_count:
        assert len(regular) == request.installments_count
        assert regular[0].due_date == request.first_due_date
        assert [line.due_date for line in regular] == regular_due_dates(
            request.first_due_date, len(regular), request.period, request.due_day)


def test_the_effective_rate_is_solved_in_decimal_to_the_exact_rate_of_a_known_loan():
    """100 ₽ repaid by 112 ₽ a year (365 days) later is 12 % a year exactly; 125,44 ₽ two years later too."""
    from billing.domain.interest import effective_annual_rate

    start = date(2026, 1, 1)
    assert effective_annual_rate(start_date=start, principal=Decimal("100.00"),
                                 flows=[(date(2027, 1, 1), Decimal("112.00"))]) == Decimal("12.000")
    assert effective_annual_rate(start_date=start, principal=Decimal("100.00"),
                                 flows=[(date(2028, 1, 1), Decimal("125.44"))]) == Decimal("12.000")
