"""Date arithmetic for payment schedules: months with end-of-month clamping, weeks, quarters."""
import calendar
from datetime import date, timedelta
from typing import Literal

Period = Literal["month", "2weeks", "week", "quarter"]
DueDay = int | Literal["last"] | None

MONTHS_PER_PERIOD = {"month": 1, "quarter": 3}
DAYS_PER_PERIOD = {"week": 7, "2weeks": 14}


def month_end(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def add_months(start: date, months: int, day: DueDay) -> date:
    """The date `months` after `start` on `day` (or start's own day), clamped to the month's last day."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = month_end(year, month)
    wanted = last if day == "last" else (day or start.day)
    return date(year, month, min(wanted, last))


def regular_due_dates(first_due_date: date, count: int, period: Period, due_day: DueDay) -> list[date]:
    """Due dates of `count` regular installments; the first is `first_due_date` itself.

    Every later date is computed from the anchor, never from the previous clamped date, so
    31 Jan -> 28 Feb -> 31 Mar rather than drifting to the 28th.
    """
    if period in DAYS_PER_PERIOD:
        step = timedelta(days=DAYS_PER_PERIOD[period])
        return [first_due_date + step * index for index in range(count)]
    months = MONTHS_PER_PERIOD[period]
    anchor_day: DueDay = due_day if due_day is not None else first_due_date.day
    return [first_due_date] + [
        add_months(first_due_date, months * index, anchor_day) for index in range(1, count)
    ]
