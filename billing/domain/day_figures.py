"""An account's money by day (the analytics rollup's rows) summed over date ranges: pure, no database [I]."""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.domain.money import ZERO


@dataclass(frozen=True)
class DayFigures:
    """One day of an account (for one analytics filter): the active plans' lines due that day — all, and the
    open ones with their unpaid remainder — and the payments received that day."""
    day: date
    due_amount: Decimal
    due_count: int
    open_amount: Decimal
    open_count: int
    received_amount: Decimal
    received_count: int
    on_time_amount: Decimal  # of the lines due that day: what payments dated by the due date hold of them now
    on_time_count: int  # lines those payments paid in full
    received_interest: Decimal  # of the payments received that day: the interest of interest plans they paid


@dataclass(frozen=True)
class ManagerFigures:
    """The same figures, summed over a range of days for one manager (None: no manager)."""
    manager_id: int | None
    due_amount: Decimal
    due_count: int
    open_amount: Decimal
    open_count: int
    received_amount: Decimal
    received_count: int
    on_time_amount: Decimal
    on_time_count: int
    received_interest: Decimal


def days_sum(days: Iterable[DayFigures], figure: str, *, first: date | None = None,
             last: date | None = None) -> tuple[Decimal, int]:
    """The amount and count of `figure` ("due", "open" or "received") over the days from `first` to `last`
    (either bound open when None)."""
    amount, count = ZERO, 0
    for row in _between(days, first, last):
        amount += getattr(row, f"{figure}_amount")
        count += getattr(row, f"{figure}_count")
    return amount, count


def days_interest(days: Iterable[DayFigures], *, first: date | None = None, last: date | None = None) -> Decimal:
    """The interest in the payments received from `first` to `last`."""
    return sum((row.received_interest for row in _between(days, first, last)), ZERO)


def _between(days: Iterable[DayFigures], first: date | None, last: date | None) -> Iterable[DayFigures]:
    return (row for row in days if (first is None or row.day >= first) and (last is None or row.day <= last))


def latest(*bounds: date | None) -> date | None:
    """The latest of the bounds given (None: no bound)."""
    given = [bound for bound in bounds if bound is not None]
    return max(given) if given else None


def earliest(*bounds: date | None) -> date | None:
    given = [bound for bound in bounds if bound is not None]
    return min(given) if given else None
