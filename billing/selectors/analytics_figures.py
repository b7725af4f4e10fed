"""Figures users asked for [I]: the cash-in forecast, the collection rate per manager and each deal's plan
progress. One selector each, over the active plans' lines only (a rebuilt plan counts only its active version),
filtered like the rest of analytics (direction, group, education direction, manager; cancelled deals left out)."""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, F, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from billing.domain.money import ZERO
from billing.models import Account, Allocation
from billing.names import deal_display_name
from billing.selectors.analytics import MONEY_FIELD, REMAINDER, AnalyticsFilter, _plan_lines
from billing.selectors.analytics_days import analytics_by_manager, analytics_days, analytics_rollup_enabled
from billing.time import account_today

FORECAST_WEEKS, FORECAST_MONTHS = 12, 6
MAX_FORECAST_WEEKS, MAX_FORECAST_MONTHS = 52, 24
COLLECTION_DAYS = 90  # the default window of the collection rate: the lines due in the last 90 days


# --- cash-in forecast -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ForecastPeriod:
    start: date  # the first day counted (today for the current week or month)
    end: date  # the last day counted
    amount: Decimal  # the open lines' unpaid remainder due in the period
    count: int  # open lines due in the period


@dataclass(frozen=True)
class CashInForecast:
    currency: str
    today: date
    weeks: list[ForecastPeriod]  # the current week (from today to Sunday), then whole weeks Monday to Sunday
    months: list[ForecastPeriod]  # the current month (from today), then whole calendar months


def _week_periods(today: date, weeks: int) -> list[tuple[date, date]]:
    sunday = today + timedelta(days=6 - today.weekday())
    periods = [(today, sunday)]
    for _ in range(weeks - 1):
        start = periods[-1][1] + timedelta(days=1)
        periods.append((start, start + timedelta(days=6)))
    return periods


def _month_periods(today: date, months: int) -> list[tuple[date, date]]:
    periods, start = [], today
    for _ in range(months):
        following = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
        periods.append((start, following - timedelta(days=1)))
        start = following
    return periods


def cash_in_forecast(*, account: Account, flt: AnalyticsFilter, weeks: int = FORECAST_WEEKS,
                     months: int = FORECAST_MONTHS) -> CashInForecast:
    """What the open lines (unpaid remainder, partial payments netted) bring in by week and by month ahead,
    from today; overdue lines are not forecast (they are the summary's `overdue`). One query: the remainder by
    due date over the horizon, put into periods here."""
    today = account_today(account)
    week_periods, month_periods = _week_periods(today, weeks), _month_periods(today, months)
    horizon = max(week_periods[-1][1], month_periods[-1][1])
    if analytics_rollup_enabled():
        days = {row.day: (row.open_amount, row.open_count)
                for row in analytics_days(account=account, flt=flt, first=today, last=horizon) if row.open_count}
    else:
        by_day = (_plan_lines(account, flt).filter(paid__lt=F("amount"), due_date__range=(today, horizon))
                  .values_list("due_date").annotate(amount=Sum(REMAINDER), count=Count("pk")).order_by())
        days = {day: (amount, count) for day, amount, count in by_day}

    def periods(bounds: list[tuple[date, date]]) -> list[ForecastPeriod]:
        result = []
        for start, end in bounds:
            inside = [figures for day, figures in days.items() if start <= day <= end]
            result.append(ForecastPeriod(start=start, end=end, amount=sum((f[0] for f in inside), ZERO),
                                         count=sum(f[1] for f in inside)))
        return result

    return CashInForecast(currency=account.currency, today=today, weeks=periods(week_periods),
                          months=periods(month_periods))


# --- collection rate per manager ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CollectionRow:
    manager_id: int | None
    due_amount: Decimal  # what the lines due in the window are worth
    due_count: int
    on_time_amount: Decimal  # of it, paid by payments dated on or before each line's due date
    on_time_count: int  # lines paid in full on time
    rate_amount: Decimal | None  # on_time_amount ÷ due_amount, 4 decimals (0.8125 = 81.25 %); None: nothing due
    rate_count: Decimal | None


@dataclass(frozen=True)
class CollectionRate:
    currency: str
    date_from: date
    date_to: date
    rows: list[CollectionRow]  # by manager id (no manager last)
    totals: CollectionRow


def _rate(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


def _collection_row(manager_id, due_amount, due_count, on_time_amount, on_time_count) -> CollectionRow:
    return CollectionRow(manager_id=manager_id, due_amount=due_amount, due_count=due_count,
                         on_time_amount=on_time_amount, on_time_count=on_time_count,
                         rate_amount=_rate(on_time_amount, due_amount), rate_count=_rate(on_time_count, due_count))


def collection_window(*, today: date, flt: AnalyticsFilter) -> tuple[date, date]:
    """The due dates counted: the filter's range, else the last COLLECTION_DAYS days; never today or later
    (a line due today is not late yet)."""
    end = min(flt.date_to or today - timedelta(days=1), today - timedelta(days=1))
    start = flt.date_from or today - timedelta(days=COLLECTION_DAYS)
    return start, end


def collection_rate(*, account: Account, flt: AnalyticsFilter) -> CollectionRate:
    """Per manager (the plan's, else the deal's responsible): of the lines due in the window, what share was paid
    on time, by amount and by count. A line's on-time money is what its allocations from payments dated on or
    before its due date hold now: a refund that took money back from it counts against it. One query (from the
    analytics rollup on PostgreSQL)."""
    start, end = collection_window(today=account_today(account), flt=flt)
    if analytics_rollup_enabled():
        rows = [_collection_row(row.manager_id, row.due_amount, row.due_count, row.on_time_amount, row.on_time_count)
                for row in analytics_by_manager(account=account, flt=flt, first=start, last=end) if row.due_count]
    else:
        rows = _collection_rows_counted(account, flt, start, end)
    rows.sort(key=lambda row: (row.manager_id is None, row.manager_id or 0))
    totals = _collection_row(None, sum((row.due_amount for row in rows), ZERO), sum(row.due_count for row in rows),
                             sum((row.on_time_amount for row in rows), ZERO), sum(row.on_time_count for row in rows))
    return CollectionRate(currency=account.currency, date_from=start, date_to=end, rows=rows, totals=totals)


def _collection_rows_counted(account: Account, flt: AnalyticsFilter, start: date, end: date) -> list[CollectionRow]:
    on_time = (Allocation.objects.filter(installment_id=OuterRef("pk"), payment__paid_at__lte=OuterRef("due_date"))
               .order_by().values("installment_id").annotate(total=Sum("amount")).values("total"))
    lines = (_plan_lines(account, AnalyticsFilter(**{**flt.__dict__, "date_from": None, "date_to": None}))
             .filter(due_date__range=(start, end))
             .annotate(on_time=Coalesce(Subquery(on_time, output_field=MONEY_FIELD), Value(ZERO),
                                        output_field=MONEY_FIELD)))
    grouped = (lines.values("manager").order_by("manager")
               .annotate(due_amount=Sum("amount"), due_count=Count("pk"), on_time_amount=Sum("on_time"),
                         on_time_count=Count("pk", filter=Q(on_time__gte=F("amount")))))
    return [_collection_row(row["manager"], row["due_amount"], row["due_count"], row["on_time_amount"],
                            row["on_time_count"]) for row in grouped]


# --- plan progress per deal -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanProgress:
    external_id: int
    deal_name: str
    client: str
    lines_paid: int  # lines paid in full («3 из 6 оплачено»)
    lines_total: int
    amount_paid: Decimal
    amount_total: Decimal
    next_due_date: date | None  # the earliest unpaid line's due date


def plan_progress(*, account: Account, flt: AnalyticsFilter, external_ids: list[int] | None = None,
                  after_external_id: int | None = None, limit: int | None = None) -> list[PlanProgress]:
    """Per deal with an active plan, by lead id: how many of its lines are paid in full and how much is paid.
    `external_ids`: only those deals (the deal card); `after_external_id` + `limit`: a keyset page. One query."""
    lines = _plan_lines(account, flt)
    if external_ids is not None:
        lines = lines.filter(schedule__deal__external_id__in=external_ids)
    if after_external_id is not None:
        lines = lines.filter(schedule__deal__external_id__gt=after_external_id)
    grouped = (lines.values("schedule__deal__external_id", "schedule__deal__name", "schedule__deal__contact_name")
               .order_by("schedule__deal__external_id")
               .annotate(lines_total=Count("pk"), lines_paid=Count("pk", filter=Q(paid__gte=F("amount"))),
                         amount_total=Sum("amount"), amount_paid=Sum("paid"),
                         next_due_date=Min("due_date", filter=Q(paid__lt=F("amount")))))
    if limit is not None:
        grouped = grouped[:limit]
    return [PlanProgress(external_id=row["schedule__deal__external_id"],
                         deal_name=deal_display_name(name=row["schedule__deal__name"],
                                                     external_id=row["schedule__deal__external_id"]),
                         client=row["schedule__deal__contact_name"], lines_paid=row["lines_paid"],
                         lines_total=row["lines_total"], amount_paid=row["amount_paid"],
                         amount_total=row["amount_total"], next_due_date=row["next_due_date"])
            for row in grouped]
