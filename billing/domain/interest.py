"""Interest-bearing plans: annuity and differentiated lines split into principal and interest. Pure maths.

Conventions (stated, so a table computed elsewhere can be compared line by line):
- the rate is a nominal annual rate in percent (0..1000);
- interest of a line accrues on the principal still owed from the previous due date (the first line: from
  `start_date`, by default one period before the first due date) to the line's due date;
- day count: "actual/365" (default: actual days / 365), "actual/actual" (each day over the length of its own
  year, 365 or 366), or "30/360" (every regular period is an equal part of the year: a month is 1/12, a
  quarter 1/4, a week 1/52, two weeks 1/26, as in the classic amortization tables; an irregular first period
  counts 30E/360 days);
- each line's interest is rounded to the kopeck half up; the annuity payment is rounded half up to the
  rounding unit; the last line takes what is left of the principal, so the principal adds up exactly to the
  amount financed and the interest of the plan is exactly the sum of the lines' interest;
- a grace period: the first `grace_periods` lines carry interest only, the principal is repaid over the rest;
- the annuity payment is P = S·r / (1 − (1 + r)^−n) with r the rate of one period (annual / periods a year);
  a payment amount may be given instead of a count: then lines follow until the principal is repaid and
  the last (flexible) payment is what is left.
"""
import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Literal

from billing.domain.calendar import add_months
from billing.domain.money import CENT, ZERO, floor_to_unit

DayCount = Literal["actual/365", "actual/actual", "30/360"]
DAY_COUNTS = ("actual/365", "actual/actual", "30/360")
INTEREST_KINDS = ("annuity", "differentiated")
MAX_RATE = Decimal("1000")
PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "week": 52, "2weeks": 26}
HUNDRED = Decimal("100")


class InterestError(ValueError):
    """`field`: the request field at fault; `reason`: a key the schedule engine turns into a message."""

    def __init__(self, field: str, reason: str, **params: object) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.params = params


@dataclass(frozen=True)
class InterestTerms:
    kind: str  # annuity | differentiated
    principal: Decimal  # the amount financed
    annual_rate: Decimal  # percent
    dates: tuple[date, ...]  # due dates available (a payment amount may use a prefix of them)
    start_date: date
    period: str
    day_count: str = "actual/365"
    grace_periods: int = 0
    count: int | None = None  # number of lines, grace included; None: `payment` decides it
    payment: Decimal | None = None  # annuity: the payment; differentiated: the principal part of a line
    rounding: Decimal = CENT


@dataclass(frozen=True)
class InterestLine:
    due_date: date
    principal: Decimal
    interest: Decimal

    @property
    def amount(self) -> Decimal:
        return self.principal + self.interest


def default_start(first_due_date: date, period: str) -> date:
    """One period before the first due date: a plan of regular periods from the day it is signed."""
    if period == "week":
        return date.fromordinal(first_due_date.toordinal() - 7)
    if period == "2weeks":
        return date.fromordinal(first_due_date.toordinal() - 14)
    return add_months(first_due_date, -3 if period == "quarter" else -1, first_due_date.day)


def year_fraction(start: date, end: date, day_count: str, period: str, regular: bool) -> Fraction:
    """The part of a year between two dates, exact; `regular`: consecutive dates of the plan's calendar."""
    if day_count == "30/360":
        if regular:
            return Fraction(1, PERIODS_PER_YEAR[period])
        return Fraction(_days_30e_360(start, end), 360)
    if day_count == "actual/actual":
        fraction, cursor = Fraction(0), start
        while cursor < end:
            upto = min(end, date(cursor.year + 1, 1, 1))
            fraction += Fraction((upto - cursor).days, 366 if calendar.isleap(cursor.year) else 365)
            cursor = upto
        return fraction
    return Fraction((end - start).days, 365)


def _days_30e_360(start: date, end: date) -> int:
    d1 = 30 if start.day == calendar.monthrange(start.year, start.month)[1] else min(start.day, 30)
    d2 = 30 if end.day == calendar.monthrange(end.year, end.month)[1] else min(end.day, 30)
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)


def annuity_payment(principal: Decimal, annual_rate: Decimal, periods: int, period: str) -> Decimal:
    """P = S·r / (1 − (1 + r)^−n), to 40 significant digits; r = 0 gives S / n."""
    with localcontext() as context:
        context.prec = 60
        rate = annual_rate / HUNDRED / PERIODS_PER_YEAR[period]
        if rate == 0:
            return +(principal / periods)
        return +(principal * rate / (1 - (1 + rate) ** -periods))


def interest_amount(balance: Decimal, annual_rate: Decimal, fraction: Fraction) -> Decimal:
    """balance · rate · fraction, computed exactly, then rounded to the kopeck half up."""
    value = Fraction(balance) * Fraction(annual_rate) / 100 * fraction
    kopecks, remainder = divmod(value.numerator * 100, value.denominator)
    if remainder * 2 >= value.denominator:
        kopecks += 1
    return (Decimal(kopecks) / 100).quantize(CENT)


def _round_unit(amount: Decimal, unit: Decimal) -> Decimal:
    return ((amount / unit).quantize(Decimal(1), rounding=ROUND_HALF_UP) * unit).quantize(CENT)


def interest_lines(terms: InterestTerms) -> list[InterestLine]:
    """The plan's lines: principal + interest each, principal adding up to `terms.principal` exactly."""
    if terms.kind not in INTEREST_KINDS:
        raise InterestError("plan", "kind")
    if terms.day_count not in DAY_COUNTS:
        raise InterestError("day_count", "day_count")
    if not ZERO <= terms.annual_rate <= MAX_RATE:
        raise InterestError("annual_rate", "rate")
    if terms.grace_periods < 0:
        raise InterestError("grace_periods", "grace_negative")
    if terms.start_date > terms.dates[0]:
        raise InterestError("start_date", "start_after_first")
    if terms.count is not None:
        if terms.grace_periods >= terms.count:
            raise InterestError("grace_periods", "grace_too_long")
        return _lines_by_count(terms)
    return _lines_by_payment(terms)


def _fraction(terms: InterestTerms, index: int) -> Fraction:
    previous = terms.start_date if index == 0 else terms.dates[index - 1]
    regular = index > 0 or terms.start_date == default_start(terms.dates[0], terms.period)
    return year_fraction(previous, terms.dates[index], terms.day_count, terms.period, regular)


def _lines_by_count(terms: InterestTerms) -> list[InterestLine]:
    count, grace = terms.count, terms.grace_periods
    repaying = count - grace
    if terms.principal < CENT * repaying:
        raise InterestError("installments_count", "too_many")
    if terms.kind == "annuity":
        payment = _round_unit(annuity_payment(terms.principal, terms.annual_rate, repaying, terms.period),
                              terms.rounding)
        part = None
    else:
        payment = None
        part = floor_to_unit(terms.principal / repaying, terms.rounding)
        if part <= ZERO:
            raise InterestError("installments_count", "too_many")
    lines, balance = [], terms.principal
    for index in range(count):
        interest = interest_amount(balance, terms.annual_rate, _fraction(terms, index))
        left_after = count - index - 1  # lines after this one, each to repay at least a kopeck
        if index < grace:
            principal = ZERO
        elif left_after == 0:
            principal = balance
        else:
            wanted = payment - interest if part is None else part
            principal = max(ZERO, min(wanted, balance - CENT * left_after))
        line = InterestLine(terms.dates[index], principal, interest)
        if line.amount <= ZERO:
            raise InterestError("grace_periods" if index < grace else "annual_rate", "zero_line")
        lines.append(line)
        balance -= principal
    return lines


def _lines_by_payment(terms: InterestTerms) -> list[InterestLine]:
    step = terms.payment
    if step is None or step <= ZERO:
        raise InterestError("installment_amount", "payment_missing")
    lines, balance, index = [], terms.principal, 0
    while balance > ZERO:
        if index >= len(terms.dates):
            raise InterestError("installment_amount", "too_long", max=len(terms.dates))
        interest = interest_amount(balance, terms.annual_rate, _fraction(terms, index))
        if index < terms.grace_periods:
            principal = ZERO
        else:
            principal = step - interest if terms.kind == "annuity" else step
            if principal <= ZERO:
                raise InterestError("installment_amount", "below_interest", interest=interest)
            principal = min(principal, balance)
        line = InterestLine(terms.dates[index], principal, interest)
        if line.amount <= ZERO:
            raise InterestError("grace_periods", "zero_line")
        lines.append(line)
        balance -= principal
        index += 1
    return lines


# The effective rate's root search, in Decimal: digits of working precision, the bracket's ceiling (a rate of
# 10^9 a year: none), and the bracket's width to stop at (a fraction of 10^-12: far below the 0.001 % shown).
RATE_DIGITS = 30
DAYS_A_YEAR = Decimal(365)
RATE_CEILING = Decimal("1e9")
RATE_TOLERANCE = Decimal("1e-12")


def effective_annual_rate(*, start_date: date, principal: Decimal,
                          flows: list[tuple[date, Decimal]]) -> Decimal | None:
    """The effective annual rate in percent (3 decimals): the E at which the payments, discounted by
    (1 + E)^(days / 365) from `start_date`, are worth exactly the principal financed. None: no such rate."""
    total = sum((amount for _, amount in flows), ZERO)
    if principal <= ZERO or not flows:
        return None
    if total == principal:
        return Decimal("0.000")
    with localcontext(prec=RATE_DIGITS):
        times = [(Decimal((day - start_date).days) / DAYS_A_YEAR, amount) for day, amount in flows]

        def value(rate: Decimal) -> Decimal:
            # (1 + E)^−t as exp(−t·ln(1 + E)): Decimal's exponent range takes what a float would overflow.
            log = (1 + rate).ln()
            return sum(((amount * (-years * log).exp()) for years, amount in times), ZERO) - principal

        low, high = Decimal("-0.99"), Decimal(1)
        while value(high) > 0:
            high *= 2
            if high > RATE_CEILING:
                return None
        if value(low) < 0:
            return None
        while high - low > RATE_TOLERANCE:
            middle = (low + high) / 2
            if value(middle) > 0:
                low = middle
            else:
                high = middle
        return ((low + high) / 2 * 100).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
