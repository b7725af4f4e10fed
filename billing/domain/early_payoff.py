"""Paying off early: a lump sum now, and the rest of the plan either shortened or lowered. Pure maths.

Payments are allocated oldest line first, so what is paid is a prefix of the plan (the last paid line may
be partly paid). The new plan keeps what is paid as it was, puts the lump sum on one line (today, or the
day after the last paid line if the client paid ahead), folds every unpaid amount due by then into it, and
spreads what is left over the later lines' dates:
- "shorten": the later lines keep their amounts from the start; the last ones are dropped (the last kept
  one takes what is left), so the plan ends earlier;
- "lower": the later lines keep their dates and share what is left equally (the last one absorbs the
  kopecks), so each payment is smaller.
The items add up exactly to the same debt, so a custom plan of them is the same deal, to the kopeck.

Every line keeps its kind and label (a down payment, an extra charge such as a state fee): what is paid of it
stays on its date, what is due by the lump's date moves into the lump as its own piece, and only the regular
lines are shortened or lowered. The later lines of other kinds keep their dates and amounts, unless the lump
is larger than every later regular line together: then it takes them too, oldest first.
"""
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Literal

from billing.domain.interest import InterestError, InterestTerms, interest_amount, interest_lines, year_fraction
from billing.domain.money import CENT, ZERO, money

PayoffMode = Literal["shorten", "lower"]
MODES = ("shorten", "lower")


class PayoffError(ValueError):
    """`reason`: mode | nothing_left | below_minimum | above_maximum; `limit` the bound that was crossed."""

    def __init__(self, field: str, reason: str, message: str, limit: Decimal | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason
        self.message = message
        self.limit = limit


REGULAR = "regular"


@dataclass(frozen=True)
class CurrentLine:
    due_date: date
    amount: Decimal
    paid: Decimal
    kind: str = REGULAR  # down_payment | regular | extra
    label: str = ""
    interest: Decimal = ZERO  # interest plans: the part of `amount` that is interest

    @property
    def regular(self) -> bool:
        """A regular line (not a down payment, extra charge or fee)."""
        return self.kind == REGULAR


@dataclass(frozen=True)
class PayoffItem:
    due_date: date
    amount: Decimal
    kind: str = REGULAR
    label: str = ""
    interest: Decimal = ZERO


@dataclass(frozen=True)
class Payoff:
    items: tuple[PayoffItem, ...]
    lump_date: date
    lump_amount: Decimal
    minimum: Decimal  # what the lump must at least be: everything unpaid that is due by its date
    maximum: Decimal  # everything unpaid


def payoff_bounds(lines: list[CurrentLine], today: date) -> tuple[date, Decimal, Decimal]:
    """The lump's date and the smallest and largest lump sum the plan allows on it."""
    paid_dates = [line.due_date for line in lines if line.paid > ZERO]
    lump_date = max([today, *[day + timedelta(days=1) for day in paid_dates]])
    unpaid = [(line.due_date, line.amount - line.paid) for line in lines if line.amount > line.paid]
    minimum = sum((rest for day, rest in unpaid if day <= lump_date), ZERO)
    maximum = sum((rest for _, rest in unpaid), ZERO)
    return lump_date, minimum, maximum


def payoff_plan(*, lines: list[CurrentLine], lump_sum: Decimal, mode: str, today: date) -> Payoff:
    """The items of the new plan (dates strictly increase, amounts positive, sum = sum of `lines`)."""
    if mode not in MODES:
        raise PayoffError("mode", "mode", "Choose how to use the payment: shorten the term or lower the payments.")
    lump_sum = money(lump_sum)
    lump_date, minimum, maximum = payoff_bounds(lines, today)
    if maximum <= ZERO:
        raise PayoffError("amount", "nothing_left", "Nothing is left to pay.")
    if lump_sum <= ZERO or lump_sum < minimum:
        raise PayoffError("amount", "below_minimum", f"The payment must be at least {max(minimum, CENT)}.",
                          max(minimum, CENT))
    if lump_sum > maximum:
        raise PayoffError("amount", "above_maximum", f"The payment cannot exceed what is left to pay, {maximum}.",
                          maximum)
    settled = [PayoffItem(line.due_date, line.paid, line.kind, line.label) for line in lines if line.paid > ZERO]
    due_now = [PayoffItem(lump_date, line.amount - line.paid, line.kind, line.label) for line in lines
               if line.amount > line.paid and line.due_date <= lump_date]
    later = [line for line in lines if line.amount > line.paid and line.due_date > lump_date]
    later_regular = [(line.due_date, line.amount - line.paid) for line in later if line.kind == REGULAR]
    ahead = lump_sum - minimum  # what the lump pays of the later lines
    on_regular = min(ahead, sum((rest for _, rest in later_regular), ZERO))
    prepaid = [PayoffItem(lump_date, on_regular)] if on_regular > ZERO else []
    beyond, kept = ahead - on_regular, []
    for line in (line for line in later if line.kind != REGULAR):
        unpaid = line.amount - line.paid
        take = min(unpaid, beyond)
        beyond -= take
        if take > ZERO:
            prepaid.append(PayoffItem(lump_date, take, line.kind, line.label))
        if unpaid > take:
            kept.append(PayoffItem(line.due_date, unpaid - take, line.kind, line.label))
    rest = sum((rest for _, rest in later_regular), ZERO) - on_regular
    spread = _shorten(later_regular, rest) if mode == "shorten" else _lower(later_regular, rest)
    items = _merge_same_days([*settled, *due_now, *prepaid, *spread, *kept])
    return Payoff(items=tuple(items), lump_date=lump_date, lump_amount=lump_sum, minimum=minimum, maximum=maximum)


def _shorten(later: list[tuple[date, Decimal]], rest: Decimal) -> list[PayoffItem]:
    items, left = [], rest
    for day, amount in later:
        if left <= ZERO:
            break
        take = min(amount, left)
        items.append(PayoffItem(day, take))
        left -= take
    return items


def _lower(later: list[tuple[date, Decimal]], rest: Decimal) -> list[PayoffItem]:
    if rest <= ZERO:
        return []
    count = len(later)
    base = (rest / count).quantize(CENT, rounding=ROUND_DOWN)
    while count > 1 and base <= ZERO:  # fewer kopecks than lines: keep only as many lines as the money fills
        count -= 1
        base = (rest / count).quantize(CENT, rounding=ROUND_DOWN)
    dates = [day for day, _ in later[:count]]
    amounts = [base] * (count - 1) + [rest - base * (count - 1)]
    return [PayoffItem(day, amount) for day, amount in zip(dates, amounts, strict=True)]


KIND_ORDER = {"down_payment": 0, REGULAR: 1, "extra": 2}


def _merge_same_days(items: list[PayoffItem]) -> list[PayoffItem]:
    """One piece per day, kind and label (regular lines of a day are one line), ordered by day then kind."""
    merged: dict[tuple[date, str, str], tuple[Decimal, Decimal]] = {}
    for item in items:
        key = (item.due_date, item.kind, "" if item.kind == REGULAR else item.label)
        amount, interest = merged.get(key, (ZERO, ZERO))
        merged[key] = (amount + item.amount, interest + item.interest)
    ordered = sorted(merged.items(), key=lambda pair: (pair[0][0], KIND_ORDER.get(pair[0][1], 3), pair[0][2]))
    return [PayoffItem(day, amount, kind, label, interest) for (day, kind, label), (amount, interest) in ordered]


# --- interest plans ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InterestPlanTerms:
    """How the plan charges interest (from its stored request): billing.domain.interest's conventions."""
    kind: str  # annuity | differentiated
    annual_rate: Decimal
    day_count: str
    period: str
    start_date: date


def _interest_split(line: CurrentLine) -> tuple[Decimal, Decimal]:
    """(interest paid, principal paid) of a line: a payment covers the line's interest first."""
    interest_paid = min(line.interest, line.paid)
    return interest_paid, line.paid - interest_paid


def interest_payoff_bounds(lines: list[CurrentLine], today: date, terms: InterestPlanTerms
                           ) -> tuple[date, Decimal, Decimal, Decimal]:
    """The lump's date, its smallest and largest amount, and the interest accrued up to it.

    Interest is recomputed from the payment date: the lump pays whatever is unpaid and due by its date,
    plus the interest accrued since the last due date on the principal still owed, and any part of the
    principal; interest of the later periods is not owed any more on the principal repaid now."""
    lump_date, _, _ = payoff_bounds(lines, today)
    due = [line for line in lines if line.due_date <= lump_date]
    owed_now = sum((line.amount - line.paid for line in due), ZERO)
    regular = [line for line in lines if line.regular]
    principal_later = sum((line.amount - line.interest - _interest_split(line)[1]
                           for line in regular if line.due_date > lump_date), ZERO)
    accrual_starts = [terms.start_date, *(line.due_date for line in regular if line.due_date <= lump_date)]
    previous = max(accrual_starts)  # interest accrues from the last due date passed (or the plan's start)
    accrued = ZERO
    if principal_later > ZERO and lump_date > previous:
        fraction = year_fraction(previous, lump_date, terms.day_count, terms.period, regular=False)
        accrued = interest_amount(principal_later, terms.annual_rate, fraction)
    minimum = owed_now + accrued
    return lump_date, minimum, minimum + principal_later, accrued


def interest_payoff_plan(*, lines: list[CurrentLine], lump_sum: Decimal, mode: str, today: date,
                         terms: InterestPlanTerms) -> Payoff:
    """An interest plan after a lump sum: interest recomputed from the payment date.

    What is paid stays as it was; the lump (on the date of payoff_bounds) carries the unpaid lines due by
    then, the interest accrued since the last due date and the rest as principal. The principal still
    owed is then repaid over the later regular dates with interest from the lump's date:
    - "shorten": the plan's own payment (annuity) or principal part (differentiated) is kept, so fewer
      lines follow and the last one takes what is left;
    - "lower": every later date is kept and the payments are computed anew (a new annuity payment, or
      equal principal parts).
    Later lines that are not regular (extra charges, fees) stay as they are. Principal adds up exactly to
    the principal of `lines`; the interest is whatever the recomputation gives (less when paying early)."""
    if mode not in MODES:
        raise PayoffError("mode", "mode", "Choose how to use the payment: shorten the term or lower the payments.")
    lump_sum = money(lump_sum)
    lump_date, minimum, maximum, accrued = interest_payoff_bounds(lines, today, terms)
    if maximum <= ZERO:
        raise PayoffError("amount", "nothing_left", "Nothing is left to pay.")
    if lump_sum <= ZERO or lump_sum < minimum:
        raise PayoffError("amount", "below_minimum", f"The payment must be at least {max(minimum, CENT)}.",
                          max(minimum, CENT))
    if lump_sum > maximum:
        raise PayoffError("amount", "above_maximum", f"The payment cannot exceed what is left to pay, {maximum}.",
                          maximum)
    settled = [PayoffItem(line.due_date, line.paid, line.kind, line.label, _interest_split(line)[0])
               for line in lines if line.paid > ZERO]
    due = [line for line in lines if line.due_date <= lump_date and line.amount > line.paid]
    interest_due = sum((line.interest - _interest_split(line)[0] for line in due), ZERO)
    lump = PayoffItem(lump_date, lump_sum, interest=interest_due + accrued)
    rest = maximum - lump_sum
    later = [line for line in lines if line.due_date > lump_date]
    kept = [PayoffItem(line.due_date, line.amount - line.paid, line.kind, line.label)
            for line in later if not line.regular]
    regular_later = [line for line in later if line.regular]
    spread = _interest_spread(regular_later, rest, mode, lump_date, terms) if rest > ZERO else []
    items = _merge_same_days([*settled, lump, *spread, *kept])
    return Payoff(items=tuple(items), lump_date=lump_date, lump_amount=lump_sum, minimum=minimum, maximum=maximum)


def _interest_spread(later: list[CurrentLine], rest: Decimal, mode: str, lump_date: date,
                     terms: InterestPlanTerms) -> list[PayoffItem]:
    dates = tuple(line.due_date for line in later)
    base = InterestTerms(kind=terms.kind, principal=rest, annual_rate=terms.annual_rate, dates=dates,
                         start_date=max(lump_date, terms.start_date), period=terms.period,
                         day_count=terms.day_count)
    attempts = []
    if mode == "shorten":
        first = later[0]
        step = first.amount if terms.kind == "annuity" else first.amount - first.interest
        attempts.append(replace(base, payment=step))
    # "lower", or a "shorten" the old payment cannot carry: every later date, fewer if the kopecks run out.
    attempts += [replace(base, count=count) for count in range(len(dates), 0, -1)]
    for attempt in attempts:
        try:
            return [PayoffItem(line.due_date, line.amount, interest=line.interest) for line in interest_lines(attempt)]
        except InterestError:
            continue
    return [PayoffItem(dates[-1], rest)]  # unreachable: one line carrying the principal always plans
