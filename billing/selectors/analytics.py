"""Analytics over an account's money: received, upcoming and overdue, by day, with aging buckets."""
import base64
import binascii
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, ExpressionWrapper, F, Min, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan
from django.db.models.functions import Coalesce

from billing.domain.day_figures import DayFigures, days_interest, days_sum, latest
from billing.domain.money import ZERO
from billing.domain.status import days_late
from billing.models import Account, Allocation, Deal, Direction, Installment, Payment, Schedule
from billing.names import deal_display_name
from billing.selectors.analytics_days import analytics_days, analytics_rollup_enabled
from billing.time import account_today

MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)
REMAINDER = ExpressionWrapper(F("amount") - F("paid"), output_field=MONEY_FIELD)
MAX_DAYS = 366
# Receivables by how late they are, as a property manager sorts them (user story 5).
AGING_BUCKETS = (("due_next_7_days", -7, -1), ("overdue_1_30", 1, 30), ("overdue_31_90", 31, 90),
                 ("overdue_91_180", 91, 180), ("overdue_over_180", 181, None))


@dataclass(frozen=True)
class AnalyticsFilter:
    date_from: date | None = None
    date_to: date | None = None
    direction: str = Direction.INCOMING
    group: str | None = None
    education_direction: str | None = None
    manager_id: int | None = None


@dataclass(frozen=True)
class Total:
    amount: Decimal
    count: int


@dataclass(frozen=True)
class DayRow:
    date: date
    received: Decimal
    due: Decimal


@dataclass(frozen=True)
class AgingBucket:
    bucket: str
    amount: Decimal
    count: int


@dataclass(frozen=True)
class Summary:
    currency: str
    received: Total
    upcoming: Total
    overdue: Total
    by_day: list[DayRow] = field(default_factory=list)
    aging: list[AgingBucket] = field(default_factory=list)
    # Of `received`: the interest of interest plans, and the rest (principal, fees...); they add up to it.
    received_interest: Decimal = ZERO
    received_principal: Decimal = ZERO


@dataclass(frozen=True)
class AnalyticsRow:
    kind: str
    external_id: int
    deal_name: str
    client: str
    group: str
    education_direction: str
    direction: str
    date: date
    amount: Decimal
    paid: Decimal
    remaining: Decimal
    days_overdue: int
    manager_id: int | None
    seq: int | None = None
    method: str | None = None


def _deal_filters(prefix: str, flt: AnalyticsFilter) -> Q:
    query = Q(**{f"{prefix}cancelled_at__isnull": True})
    if flt.group:
        query &= Q(**{f"{prefix}group": flt.group})
    if flt.education_direction:
        query &= Q(**{f"{prefix}education_direction": flt.education_direction})
    return query


def _plan_lines(account: Account, flt: AnalyticsFilter) -> QuerySet[Installment]:
    """Lines of the account's active plans that pass the filter, each with its manager."""
    lines = Installment.objects.filter(
        _deal_filters("schedule__deal__", flt), schedule__deal__account=account, schedule__is_active=True,
        schedule__direction=flt.direction,
    ).annotate(manager=Coalesce("schedule__manager_id", "schedule__deal__responsible_user_id"))
    if flt.manager_id:
        lines = lines.filter(manager=flt.manager_id)
    return lines


def _installments(account: Account, flt: AnalyticsFilter) -> QuerySet[Installment]:
    return _plan_lines(account, flt).filter(paid__lt=F("amount"))


def _in_range(lines: QuerySet, field_name: str, flt: AnalyticsFilter) -> QuerySet:
    if flt.date_from:
        lines = lines.filter(**{f"{field_name}__gte": flt.date_from})
    if flt.date_to:
        lines = lines.filter(**{f"{field_name}__lte": flt.date_to})
    return lines


def _payments(account: Account, flt: AnalyticsFilter) -> QuerySet[Payment]:
    payments = Payment.objects.filter(_deal_filters("deal__", flt), account=account,
                                      deal__direction=flt.direction).exclude(method=Payment.Method.OPENING_BALANCE)
    if flt.manager_id:
        managed = Schedule.objects.filter(is_active=True, deal__account=account).annotate(
            manager=Coalesce("manager_id", "deal__responsible_user_id")).filter(manager=flt.manager_id)
        payments = payments.filter(deal_id__in=managed.values("deal_id"))
    return _in_range(payments, "paid_at", flt)


def _total(queryset: QuerySet, expression) -> Total:
    result = queryset.aggregate(amount=Coalesce(Sum(expression), Value(ZERO), output_field=MONEY_FIELD),
                                count=Count("pk"))
    return Total(amount=result["amount"], count=result["count"])


def upcoming_lines(account: Account, flt: AnalyticsFilter, today: date) -> QuerySet[Installment]:
    return _in_range(_installments(account, flt).filter(due_date__gte=today), "due_date", flt)


def overdue_lines(account: Account, flt: AnalyticsFilter, today: date) -> QuerySet[Installment]:
    """Every line late as of today, whatever the date range: the debt the aging block's overdue buckets add up to."""
    return _installments(account, flt).filter(due_date__lt=today)


def received_interest(account: Account, flt: AnalyticsFilter) -> Decimal:
    """The interest in the payments received (the summary's `received`): a payment covers a line's
    interest before its principal, so of the allocations to a line, in payment order, the first ones up to
    the line's interest are interest."""
    in_range = Exists(_payments(account, flt).filter(pk=OuterRef("payment_id")))
    slices = (Allocation.objects.filter(installment__schedule__is_active=True, installment__interest__gt=0,
                                        installment__schedule__deal__account=account)
              .annotate(in_range=in_range)
              .order_by("installment_id", "payment__paid_at", "payment_id")
              .values_list("installment_id", "installment__interest", "in_range", "amount"))
    total, left, line = ZERO, ZERO, None
    for installment_id, interest, counted, amount in slices.iterator(chunk_size=2000):
        if installment_id != line:
            line, left = installment_id, interest
        part = min(amount, left)
        left -= part
        if counted:
            total += part
    return total


def analytics_summary(*, account: Account, flt: AnalyticsFilter) -> Summary:
    """Received, the interest in it, the open lines' totals (upcoming, overdue, every aging bucket) and the two
    sums by day. On PostgreSQL from the rollup's day rows (one statement whatever the account's size);
    elsewhere five queries over the lines, payments and allocations."""
    today = account_today(account)
    if analytics_rollup_enabled():
        days = analytics_days(account=account, flt=flt)
        upcoming, overdue, aging = _open_totals_of_days(days, flt, today)
        received = Total(*days_sum(days, "received", first=flt.date_from, last=flt.date_to))
        interest = days_interest(days, first=flt.date_from, last=flt.date_to)
        by_day = _by_day_of_days(days, flt, today)
    else:
        upcoming, overdue, aging = _open_line_totals(account, flt, today)
        received = _total(_payments(account, flt), "amount")
        interest = received_interest(account, flt)
        by_day = _by_day(account, flt, today)
    return Summary(
        currency=account.currency,
        received=received, received_interest=interest, received_principal=received.amount - interest,
        upcoming=upcoming,
        overdue=overdue,
        by_day=by_day,
        aging=aging,
    )


def _by_day_range(flt: AnalyticsFilter, today: date) -> tuple[date, date]:
    start = flt.date_from or today.replace(day=1)
    end = flt.date_to or (start + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    if (end - start).days >= MAX_DAYS:
        end = start + timedelta(days=MAX_DAYS - 1)
    return start, end


def _by_day(account: Account, flt: AnalyticsFilter, today: date) -> list[DayRow]:
    start, end = _by_day_range(flt, today)
    bounded = AnalyticsFilter(**{**flt.__dict__, "date_from": start, "date_to": end})
    received = dict(_payments(account, bounded).values_list("paid_at").annotate(total=Sum("amount")))
    due_lines = _plan_lines(account, flt).filter(due_date__range=(start, end))
    due = dict(due_lines.values_list("due_date").annotate(total=Sum("amount")))
    return [DayRow(date=day, received=received.get(day, ZERO), due=due.get(day, ZERO))
            for day in (start + timedelta(days=offset) for offset in range((end - start).days + 1))]


def _by_day_of_days(days: list[DayFigures], flt: AnalyticsFilter, today: date) -> list[DayRow]:
    start, end = _by_day_range(flt, today)
    known = {row.day: row for row in days if start <= row.day <= end}
    return [DayRow(date=day, received=known[day].received_amount if day in known else ZERO,
                   due=known[day].due_amount if day in known else ZERO)
            for day in (start + timedelta(days=offset) for offset in range((end - start).days + 1))]


def _aging_condition(today: date, from_days: int, to_days: int | None) -> Q:
    # days late = today - due_date; "due next 7 days" is days late -7..-1
    condition = Q(due_date__lte=today - timedelta(days=from_days))
    if to_days is not None:
        condition &= Q(due_date__gte=today - timedelta(days=to_days))
    return condition


def open_line_totals(*, account: Account, flt: AnalyticsFilter, today: date
                     ) -> tuple[Total, Total, list[AgingBucket]]:
    """Upcoming (in the date range), overdue (whatever the range) and the aging buckets of the open lines:
    from the rollup on PostgreSQL, else counted over the lines."""
    if analytics_rollup_enabled():
        return _open_totals_of_days(analytics_days(account=account, flt=flt), flt, today)
    return _open_line_totals(account, flt, today)


def _open_totals_of_days(days: list[DayFigures], flt: AnalyticsFilter, today: date
                         ) -> tuple[Total, Total, list[AgingBucket]]:
    upcoming = Total(*days_sum(days, "open", first=latest(today, flt.date_from), last=flt.date_to))
    overdue = Total(*days_sum(days, "open", last=today - timedelta(days=1)))
    aging = []
    for name, from_days, to_days in AGING_BUCKETS:
        first = today - timedelta(days=to_days) if to_days is not None else None
        amount, count = days_sum(days, "open", first=first, last=today - timedelta(days=from_days))
        aging.append(AgingBucket(bucket=name, amount=amount, count=count))
    return upcoming, overdue, aging


def _open_line_totals(account: Account, flt: AnalyticsFilter, today: date
                      ) -> tuple[Total, Total, list[AgingBucket]]:
    """Upcoming (in the date range), overdue (whatever the range) and the aging buckets of the open lines,
    as one aggregate with a FILTER per figure: one pass over the lines instead of seven."""
    upcoming = Q(due_date__gte=today)  # as upcoming_lines: due from today, within the date range
    if flt.date_from:
        upcoming &= Q(due_date__gte=flt.date_from)
    if flt.date_to:
        upcoming &= Q(due_date__lte=flt.date_to)
    conditions = {"upcoming": upcoming, "overdue": Q(due_date__lt=today)}
    conditions.update({name: _aging_condition(today, from_days, to_days)
                       for name, from_days, to_days in AGING_BUCKETS})
    aggregates = {}
    for name, condition in conditions.items():
        aggregates[f"{name}__amount"] = Coalesce(Sum(REMAINDER, filter=condition), Value(ZERO),
                                                 output_field=MONEY_FIELD)
        aggregates[f"{name}__count"] = Count("pk", filter=condition)
    result = _installments(account, flt).aggregate(**aggregates)

    def total(name: str) -> Total:
        return Total(amount=result[f"{name}__amount"], count=result[f"{name}__count"])

    aging = [AgingBucket(bucket=name, amount=total(name).amount, count=total(name).count)
             for name, _from, _to in AGING_BUCKETS]
    return total("upcoming"), total("overdue"), aging


def analytics_rows(*, account: Account, flt: AnalyticsFilter, kind: str, today: date | None = None) -> QuerySet:
    """The rows behind one total, oldest first, as a queryset the caller pages (`today`: the account's, by
    default; billing.selectors.analytics_rows reads these rows as tuples)."""
    today = today or account_today(account)
    if kind == "received":
        return (_payments(account, flt).select_related("deal").order_by("paid_at", "pk")
                .only("paid_at", "amount", "method", "deal_id", *(f"deal__{name}" for name in ROW_DEAL_FIELDS)))
    lines = upcoming_lines(account, flt, today) if kind == "upcoming" else overdue_lines(account, flt, today)
    return (lines.select_related("schedule__deal").order_by("due_date", "schedule__deal__external_id", "seq")
            .only("seq", "due_date", "amount", "paid", "schedule_id", "schedule__deal_id",
                  *(f"schedule__deal__{name}" for name in ROW_DEAL_FIELDS)))


# What a row shows of its deal: the rows and the export read only these columns (no secrets decrypted, narrow rows).
ROW_DEAL_FIELDS = ("external_id", "name", "contact_name", "group", "education_direction", "direction",
                   "responsible_user_id")


class BadCursor(ValueError):
    """A `cursor` that this kind of rows did not hand out."""


def _cursor_encode(kind: str, parts: tuple) -> str:
    raw = "|".join([kind, *(str(part) for part in parts)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_decode(kind: str, cursor: str) -> tuple[date, int, int | None]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        found, day, *keys = raw.split("|")
        numbers = [int(key) for key in keys]
        expected = 1 if kind == "received" else 2
        if found != kind or len(numbers) != expected or any(abs(number) >= 2**63 for number in numbers):
            raise ValueError(raw)
        return date.fromisoformat(day), numbers[0], numbers[1] if expected == 2 else None
    except (ValueError, UnicodeDecodeError, binascii.Error) as error:
        raise BadCursor(cursor) from error


def _row_cursor(kind: str, item) -> str:
    if kind == "received":
        return _cursor_encode(kind, (item.paid_at.isoformat(), item.pk))
    return _cursor_encode(kind, (item.due_date.isoformat(), item.schedule.deal.external_id, item.seq))


def analytics_rows_after(*, rows: QuerySet, kind: str, cursor: str) -> QuerySet:
    """The rows after a keyset cursor, in the same order (`analytics_rows`): a deep page costs what the first
    page costs, and rows inserted before the cursor neither repeat nor hide rows after it."""
    day, first, second = _cursor_decode(kind, cursor)
    # A row comparison, (paid_at, id) > (…): an ordered index scan that stops after the page (an OR of the
    # cases makes PostgreSQL bitmap-scan and sort); the bare date bound lets the lines' due_date index in.
    if kind == "received":
        return rows.filter(TupleGreaterThan(Tuple(F("paid_at"), F("pk")), (day, first)), paid_at__gte=day)
    return rows.filter(TupleGreaterThan(Tuple(F("due_date"), F("schedule__deal__external_id"), F("seq")),
                                        (day, first, second)), due_date__gte=day)


def analytics_rows_keyset(*, account: Account, flt: AnalyticsFilter, kind: str, cursor: str | None,
                          size: int) -> tuple[list, str | None]:
    """One page of the rows behind a total by keyset: the page and the cursor of the next one (None: the last)."""
    rows = analytics_rows(account=account, flt=flt, kind=kind)
    if cursor:
        rows = analytics_rows_after(rows=rows, kind=kind, cursor=cursor)
    items = list(rows[:size + 1])
    return items[:size], _row_cursor(kind, items[size - 1]) if len(items) > size else None


def analytics_cursor_check(*, kind: str, cursor: str) -> None:
    """Raise BadCursor unless `cursor` is one this kind of rows hands out."""
    _cursor_decode(kind, cursor)


def analytics_row_cursor(*, kind: str, item) -> str:
    return _row_cursor(kind, item)


def analytics_row(item, kind: str, today: date) -> AnalyticsRow:
    if kind == "received":
        deal = item.deal
        return AnalyticsRow(kind=kind, external_id=deal.external_id, deal_name=_deal_name(deal),
                            client=deal.contact_name,
                            group=deal.group, education_direction=deal.education_direction,
                            direction=deal.direction, date=item.paid_at, amount=item.amount, paid=item.amount,
                            remaining=ZERO, days_overdue=0, manager_id=deal.responsible_user_id,
                            method=item.method)
    deal = item.schedule.deal
    return AnalyticsRow(kind=kind, external_id=deal.external_id, deal_name=_deal_name(deal), client=deal.contact_name,
                        group=deal.group, education_direction=deal.education_direction, direction=deal.direction,
                        date=item.due_date, amount=item.amount, paid=item.paid, remaining=item.amount - item.paid,
                        days_overdue=days_late(item.due_date, today), manager_id=item.manager, seq=item.seq)


def _deal_name(deal: Deal) -> str:
    return deal_display_name(name=deal.name, external_id=deal.external_id)


def analytics_filters(*, account: Account) -> dict[str, list]:
    deals = account.deals.filter(cancelled_at__isnull=True)
    return {
        "groups": sorted(set(deals.exclude(group="").values_list("group", flat=True))),
        "education_directions": sorted(set(deals.exclude(education_direction="")
                                           .values_list("education_direction", flat=True))),
        "managers": sorted(set(deals.exclude(responsible_user_id=None).values_list("responsible_user_id", flat=True))
                       | set(Schedule.objects.filter(deal__account=account, is_active=True)
                             .exclude(manager_id=None).values_list("manager_id", flat=True))),
        "directions": [Direction.INCOMING, Direction.OUTGOING],
    }


# --- counterparty reports (user story 4: totals per counterparty, payments made, remaining per contract) ----
GROUP_BY = ("counterparty", "contract")


@dataclass(frozen=True)
class CounterpartyRow:
    key: str  # the grouping key: the counterparty's name, or the deal's lead id for a contract
    counterparty: str
    contract: str  # «Д-2026-000001», else the deal's name; "" when grouped by counterparty
    external_id: int | None  # the contract's lead; None when grouped by counterparty
    deals_count: int
    total: Decimal  # what the active plans are worth
    paid: Decimal  # money moved in the date range (refunds subtract)
    payments_count: int  # payments made in the date range (refunds not counted)
    remaining: Decimal  # the unpaid remainder of the active plans' lines, whatever their date
    next_due_date: date | None


@dataclass(frozen=True)
class CounterpartyReport:
    currency: str
    group_by: str
    rows: list[CounterpartyRow]
    totals: CounterpartyRow


def analytics_counterparties(*, account: Account, flt: AnalyticsFilter, group_by: str) -> CounterpartyReport:
    """Per counterparty (the deal's client or recipient) or per contract (deal): paid in the range, payments made,
    remaining principal. The same filters as the summary: `paid`/`payments_count` are the `received` payments,
    `remaining` the active plans' unpaid lines (as upcoming + overdue without the date range)."""
    lines = (_plan_lines(account, flt).values("schedule__deal_id")
             .annotate(total=Sum("amount"), remaining=Sum(REMAINDER),
                       next_due=Min("due_date", filter=Q(paid__lt=F("amount")))))
    by_deal = {row["schedule__deal_id"]: row for row in lines}
    payments = {row["deal_id"]: row for row in _payments(account, flt).values("deal_id").annotate(
        paid=Sum("amount"), count=Count("pk", filter=Q(amount__gt=0)))}
    deals = Deal.objects.filter(pk__in=set(by_deal) | set(payments)).order_by("pk")
    groups: dict[str, dict] = {}
    for deal in deals:
        line, paid = by_deal.get(deal.pk) or {}, payments.get(deal.pk) or {}
        name = deal.contact_name.strip() or _deal_name(deal)
        if group_by == "contract":
            contract = deal.contract_number or _deal_name(deal)
            key, external_id = str(deal.external_id), deal.external_id
        else:
            key, contract, external_id = name.casefold(), "", None
        group = groups.setdefault(key, {"key": key, "counterparty": name, "contract": contract,
                                        "external_id": external_id,
                                        "deals_count": 0, "total": ZERO, "paid": ZERO, "payments_count": 0,
                                        "remaining": ZERO, "next_due_date": None})
        group["deals_count"] += 1
        group["total"] += line.get("total") or ZERO
        group["remaining"] += line.get("remaining") or ZERO
        group["paid"] += paid.get("paid") or ZERO
        group["payments_count"] += paid.get("count") or 0
        next_due = line.get("next_due")
        if next_due and (group["next_due_date"] is None or next_due < group["next_due_date"]):
            group["next_due_date"] = next_due
    rows = sorted((CounterpartyRow(**group) for group in groups.values()),
                  key=lambda row: (-row.remaining, row.counterparty.casefold(), row.key))
    dues = [row.next_due_date for row in rows if row.next_due_date]
    totals = CounterpartyRow(
        key="", counterparty="", contract="", external_id=None, deals_count=sum(row.deals_count for row in rows),
        total=sum((row.total for row in rows), ZERO), paid=sum((row.paid for row in rows), ZERO),
        payments_count=sum(row.payments_count for row in rows),
        remaining=sum((row.remaining for row in rows), ZERO), next_due_date=min(dues) if dues else None)
    return CounterpartyReport(currency=account.currency, group_by=group_by, rows=rows, totals=totals)
