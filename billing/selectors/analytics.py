"""Analytics over an account's money: received, upcoming and overdue, by day, with aging buckets."""
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from billing.domain.money import ZERO
from billing.domain.status import days_late
from billing.models import Account, Direction, Installment, Payment, Schedule
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


@dataclass(frozen=True)
class AnalyticsRow:
    kind: str
    lead_id: int
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
    return _in_range(_installments(account, flt).filter(due_date__lt=today), "due_date", flt)


def analytics_summary(*, account: Account, flt: AnalyticsFilter) -> Summary:
    today = account_today(account)
    return Summary(
        currency=account.currency,
        received=_total(_payments(account, flt), "amount"),
        upcoming=_total(upcoming_lines(account, flt, today), REMAINDER),
        overdue=_total(overdue_lines(account, flt, today), REMAINDER),
        by_day=_by_day(account, flt, today),
        aging=_aging(account, flt, today),
    )


def _by_day(account: Account, flt: AnalyticsFilter, today: date) -> list[DayRow]:
    start = flt.date_from or today.replace(day=1)
    end = flt.date_to or (start + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    if (end - start).days >= MAX_DAYS:
        end = start + timedelta(days=MAX_DAYS - 1)
    bounded = AnalyticsFilter(**{**flt.__dict__, "date_from": start, "date_to": end})
    received = dict(_payments(account, bounded).values_list("paid_at").annotate(total=Sum("amount")))
    due_lines = _plan_lines(account, flt).filter(due_date__range=(start, end))
    due = dict(due_lines.values_list("due_date").annotate(total=Sum("amount")))
    return [DayRow(date=day, received=received.get(day, ZERO), due=due.get(day, ZERO))
            for day in (start + timedelta(days=offset) for offset in range((end - start).days + 1))]


def _aging(account: Account, flt: AnalyticsFilter, today: date) -> list[AgingBucket]:
    lines = _installments(account, flt)
    buckets = []
    for name, from_days, to_days in AGING_BUCKETS:
        # days late = today - due_date; "due next 7 days" is days late -7..-1
        bucket = lines.filter(due_date__lte=today - timedelta(days=from_days))
        if to_days is not None:
            bucket = bucket.filter(due_date__gte=today - timedelta(days=to_days))
        total = _total(bucket, REMAINDER)
        buckets.append(AgingBucket(bucket=name, amount=total.amount, count=total.count))
    return buckets


def analytics_rows(*, account: Account, flt: AnalyticsFilter, kind: str) -> QuerySet:
    """The rows behind one total, oldest first, as a queryset the caller pages."""
    today = account_today(account)
    if kind == "received":
        return _payments(account, flt).select_related("deal").order_by("paid_at", "pk")
    lines = upcoming_lines(account, flt, today) if kind == "upcoming" else overdue_lines(account, flt, today)
    return lines.select_related("schedule__deal").order_by("due_date", "schedule__deal__lead_id", "seq")


def analytics_row(item, kind: str, today: date) -> AnalyticsRow:
    if kind == "received":
        deal = item.deal
        return AnalyticsRow(kind=kind, lead_id=deal.lead_id, deal_name=deal.name, client=deal.contact_name,
                            group=deal.group, education_direction=deal.education_direction,
                            direction=deal.direction, date=item.paid_at, amount=item.amount, paid=item.amount,
                            remaining=ZERO, days_overdue=0, manager_id=deal.responsible_user_id,
                            method=item.method)
    deal = item.schedule.deal
    return AnalyticsRow(kind=kind, lead_id=deal.lead_id, deal_name=deal.name, client=deal.contact_name,
                        group=deal.group, education_direction=deal.education_direction, direction=deal.direction,
                        date=item.due_date, amount=item.amount, paid=item.paid, remaining=item.amount - item.paid,
                        days_overdue=days_late(item.due_date, today), manager_id=item.manager, seq=item.seq)


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
