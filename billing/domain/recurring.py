"""Open-ended recurring plans (subscriptions): a price every period until cancelled, lines kept a rolling
horizon ahead. Pure: the services decide when to call it and store what it returns."""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from billing.domain.calendar import DueDay, add_months
from billing.domain.money import MAX_AMOUNT, ZERO, money
from billing.domain.schedule import EARLIEST_DATE, LATEST_DATE, Plan, PlanError, PlannedInstallment
from billing.domain.status import last_due_date

RecurringPeriod = Literal["month", "week"]
RecurringState = Literal["active", "paused", "cancelled"]
HORIZON = 3  # unpaid periods kept ahead (due today or later)
MAX_EVERY = 52
MAX_CATCH_UP = 1000  # lines one extension may add (years of downtime on a weekly plan)
LABEL = "Subscription"


@dataclass(frozen=True)
class RecurringTerms:
    price: Decimal
    start_date: date
    period: RecurringPeriod = "month"
    every: int = 1
    due_day: DueDay = None


@dataclass(frozen=True)
class LineFact:
    """A line of the plan as stored: enough to tell what is still ahead."""
    due_date: date
    amount: Decimal
    paid: Decimal


def terms_from_request(*, price: Decimal | None, start_date: date | None, period: str, every: int | None,
                       due_day: DueDay) -> RecurringTerms:
    """The plan request's words (period month / quarter / week / 2weeks, every N) as terms, or PlanError."""
    if price is None:
        raise PlanError("installment_amount", "A subscription needs its price per period.")
    price = money(price)
    if price <= ZERO:
        raise PlanError("installment_amount", "The price per period must be greater than zero.")
    if price > MAX_AMOUNT:
        raise PlanError("installment_amount", "The price per period is too large.")
    if start_date is None:
        raise PlanError("first_due_date", "A subscription needs the date of its first payment.")
    if not EARLIEST_DATE <= start_date <= LATEST_DATE:
        raise PlanError("first_due_date", "The first payment date is out of range.")
    every = every or 1
    if not 1 <= every <= MAX_EVERY:
        raise PlanError("every", "Every 1 to %(max)s periods.", max=MAX_EVERY)
    base: RecurringPeriod = "week" if period in ("week", "2weeks") else "month"
    every *= {"2weeks": 2, "quarter": 3}.get(period, 1)
    return RecurringTerms(price=price, start_date=start_date, period=base, every=every,
                          due_day=due_day if base == "month" else None)


def period_date(terms: RecurringTerms, index: int) -> date:
    """The due date of period `index` (0: the first payment), always from the anchor so month ends never drift."""
    if terms.period == "week":
        return terms.start_date + timedelta(weeks=terms.every * index)
    if index == 0:
        return terms.start_date
    return add_months(terms.start_date, terms.every * index, terms.due_day or terms.start_date.day)


def dates_to_add(terms: RecurringTerms, lines: list[LineFact], today: date, *, not_before: date | None = None,
                 horizon: int = HORIZON) -> list[date]:
    """The periods to append after the last line so that `horizon` unpaid lines are due today or later.

    Missed periods (downtime longer than the horizon) are added too, dated as they were due: each is owed.
    Periods before `not_before` are skipped (a resumed plan does not bill its pause). Idempotent: run on
    its own output it adds nothing."""
    ahead = sum(1 for line in lines if line.paid < line.amount and line.due_date >= today)
    last = last_due_date(lines)
    added: list[date] = []
    index = 0
    while ahead < horizon:
        due = period_date(terms, index)
        index += 1
        if due > LATEST_DATE or len(added) >= MAX_CATCH_UP:
            break
        if (last is not None and due <= last) or (not_before is not None and due < not_before):
            continue
        added.append(due)
        if due >= today:
            ahead += 1
    return added


def recurring_plan(terms: RecurringTerms) -> Plan:
    """The first `HORIZON` periods: what a new subscription's version starts with (the tick keeps it rolling)."""
    installments = tuple(PlannedInstallment(seq=index + 1, due_date=period_date(terms, index), amount=terms.price,
                                            kind="regular", label=LABEL) for index in range(HORIZON))
    total = terms.price * HORIZON
    return Plan(total=total, already_paid=ZERO, debt=total, installments=installments)
