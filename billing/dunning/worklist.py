"""«Должники сегодня»: the overdue lines a manager works through, with client, phone, last contact and the
ladder's next step; filtered like analytics, optionally by aging bucket, paged."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import F, OuterRef, QuerySet, Subquery

from billing.domain.day_figures import days_sum, earliest, latest
from billing.domain.status import days_late
from billing.dunning import domain
from billing.dunning.models import DunningLine, StepRun
from billing.dunning.selectors import policy_get
from billing.models import Account, Installment
from billing.selectors.analytics import AnalyticsFilter, _in_range, _installments
from billing.selectors.analytics_days import analytics_days, analytics_rollup_enabled


@dataclass(frozen=True)
class NextStep:
    day: int
    channel: str
    date: date


@dataclass(frozen=True)
class DebtorRow:
    external_id: int
    deal_name: str
    client: str
    phone: str
    email: str
    seq: int
    kind: str
    due_date: date
    amount: Decimal
    remaining: Decimal
    debt: Decimal
    days_overdue: int
    bucket: str | None
    manager_id: int | None
    last_contact_at: datetime | None
    last_contact_channel: str | None
    paused_until: date | None
    next_step: NextStep | None


def debtors_lines(*, account: Account, flt: AnalyticsFilter, today: date, bucket: str | None = None
                  ) -> QuerySet[Installment]:
    """Unpaid lines past their due date (or, for the `due_next_7_days` bucket, due within the week), oldest
    first, each with its ladder line's pause and the deal's last sent reminder."""
    lines = _in_range(_installments(account, flt), "due_date", flt)
    low, high = _bucket_days(bucket)
    lines = lines.filter(due_date__lte=today - timedelta(days=low))
    if high is not None:
        lines = lines.filter(due_date__gte=today - timedelta(days=high))
    ladder = DunningLine.objects.filter(deal_id=OuterRef("schedule__deal_id"), seq=OuterRef("seq"),
                                        due_date=OuterRef("due_date"))
    last_sent = (StepRun.objects.filter(deal_id=OuterRef("schedule__deal_id"), status=StepRun.Status.SENT)
                 .order_by("-finished_at", "-id"))
    return (lines.annotate(line_id=Subquery(ladder.values("pk")[:1]),
                           paused_until=Subquery(ladder.values("paused_until")[:1]),
                           shift_days=Subquery(ladder.values("shift_days")[:1]),
                           last_contact_at=Subquery(last_sent.values("finished_at")[:1]),
                           last_contact_channel=Subquery(last_sent.values("channel")[:1]))
            .select_related("schedule__deal").order_by("due_date", "schedule__deal__external_id", "seq")
            .annotate(remaining=F("amount") - F("paid")))


def debtors_count(*, account: Account, flt: AnalyticsFilter, today: date, bucket: str | None = None) -> int:
    """How many lines `debtors_lines` gives: from the analytics rollup's open lines by day on PostgreSQL (no
    scan of the account's lines), else counted."""
    if not analytics_rollup_enabled():
        return debtors_lines(account=account, flt=flt, today=today, bucket=bucket).count()
    low, high = _bucket_days(bucket)
    first = latest(flt.date_from, today - timedelta(days=high) if high is not None else None)
    last = earliest(flt.date_to, today - timedelta(days=low))
    if first is not None and first > last:
        return 0
    _amount, count = days_sum(analytics_days(account=account, flt=flt, first=first, last=last), "open")
    return count


def _bucket_days(bucket: str | None) -> tuple[int, int | None]:
    """The bucket's days late, low to high (None: no end); no bucket: every overdue line."""
    return next(((low, high) for name, low, high in domain.AGING_BUCKETS if name == bucket), (1, None))


def debtor_rows(*, account: Account, items: list[Installment], today: date) -> list[DebtorRow]:
    """The page's rows; the next step comes from the policy and the steps already recorded (one query)."""
    _enabled, policy = policy_get(account=account)
    recorded: dict[int, set[str]] = {}
    line_ids = [item.line_id for item in items if item.line_id]
    for line_id, key in StepRun.objects.filter(line_id__in=line_ids).values_list("line_id", "step_key"):
        recorded.setdefault(line_id, set()).add(key)
    rows = []
    for item in items:
        deal = item.schedule.deal
        days = days_late(item.due_date, today)  # 0 for a line not yet late: bucket due_next_7_days
        rows.append(DebtorRow(
            external_id=deal.external_id, deal_name=deal.name, client=deal.contact_name, phone=deal.contact_phone,
            email=deal.contact_email, seq=item.seq, kind=item.kind, due_date=item.due_date, amount=item.amount,
            remaining=item.amount - item.paid, debt=deal.debt, days_overdue=max(days, 0),
            bucket=domain.aging_bucket(days), manager_id=item.manager,
            last_contact_at=item.last_contact_at, last_contact_channel=item.last_contact_channel,
            paused_until=item.paused_until,
            next_step=_next_step(policy, item, recorded.get(item.line_id, set()), today)))
    return rows


def _next_step(policy: domain.Policy, item: Installment, recorded: set[str], today: date) -> NextStep | None:
    due = item.due_date + timedelta(days=item.shift_days or 0)
    for step in sorted(policy.steps, key=lambda step: (step.day, step.channel)):
        on = due + timedelta(days=step.day)
        if step.key not in recorded and on >= today:
            return NextStep(day=step.day, channel=step.channel, date=on)
    return None


@dataclass(frozen=True)
class DealNextStep:
    seq: int
    due_date: date
    day: int
    channel: str
    date: date


def deal_next_step(*, account: Account, external_id: int, today: date) -> DealNextStep | None:
    """The card's «Следующий шаг»: the earliest ladder step still to come over the deal's unpaid lines (a
    line whose ladder is done, or a ladder switched off, has none)."""
    enabled, policy = policy_get(account=account)
    if not enabled:
        return None
    ladder = DunningLine.objects.filter(deal_id=OuterRef("schedule__deal_id"), seq=OuterRef("seq"),
                                        due_date=OuterRef("due_date"))
    items = list(_installments(account, AnalyticsFilter())
                 .filter(schedule__deal__external_id=external_id)
                 .exclude(kind=Installment.Kind.FEE)
                 .annotate(line_id=Subquery(ladder.values("pk")[:1]),
                           shift_days=Subquery(ladder.values("shift_days")[:1]),
                           ladder_done_at=Subquery(ladder.values("ladder_done_at")[:1]))
                 .order_by("due_date", "seq"))
    recorded: dict[int, set[str]] = {}
    line_ids = [item.line_id for item in items if item.line_id]
    for line_id, key in StepRun.objects.filter(line_id__in=line_ids).values_list("line_id", "step_key"):
        recorded.setdefault(line_id, set()).add(key)
    found = []
    for item in items:
        if item.ladder_done_at is not None:
            continue
        step = _next_step(policy, item, recorded.get(item.line_id, set()), today)
        if step is not None:
            found.append(DealNextStep(seq=item.seq, due_date=item.due_date, day=step.day, channel=step.channel,
                                      date=step.date))
    return min(found, key=lambda step: (step.date, step.seq), default=None)
