"""«Должники сегодня»: the overdue lines a manager works through, with client, phone, last contact and the
ladder's next step; filtered like analytics, optionally by aging bucket, paged.

`debtors_lines` is the one definition of the lines (filters, order). A page (`debtors_page`) on PostgreSQL reads
them as tuples by a statement compiled once per filter shape (as analytics' row pages do, `compiled_statement`):
the page's lines first (LIMIT/OFFSET), then, for those lines only, their ladder line, the deal's last sent step
and the steps recorded, by LEFT JOIN LATERAL. Off PostgreSQL (`make run`'s SQLite) it makes the rows of
`debtors_lines`' model instances, as it always did."""
import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import F, OuterRef, QuerySet, Subquery

from billing.domain.day_figures import days_sum, earliest, latest
from billing.domain.status import days_late
from billing.dunning import domain
from billing.dunning.models import DunningLine, StepRun
from billing.dunning.selectors import policy_get
from billing.models import Account, Installment
from billing.selectors.analytics import AnalyticsFilter, _in_range, _installments
from billing.selectors.analytics_days import analytics_days, analytics_rollup_enabled
from billing.selectors.analytics_rows import OPTIONAL_FILTERS, filter_stand_ins
from billing.selectors.compiled_sql import compiled_statement, queryset_compiled


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
    lines = _debtors_due(account=account, flt=flt, today=today, bucket=bucket)
    ladder = DunningLine.objects.filter(deal_id=OuterRef("schedule__deal_id"), seq=OuterRef("seq"),
                                        due_date=OuterRef("due_date"))
    last_sent = (StepRun.objects.filter(deal_id=OuterRef("schedule__deal_id"), status=StepRun.Status.SENT)
                 .order_by("-finished_at", "-id"))
    return (lines.annotate(line_id=Subquery(ladder.values("pk")[:1]),
                           paused_until=Subquery(ladder.values("paused_until")[:1]),
                           shift_days=Subquery(ladder.values("shift_days")[:1]),
                           last_contact_at=Subquery(last_sent.values("finished_at")[:1]),
                           last_contact_channel=Subquery(last_sent.values("channel")[:1]))
            .select_related("schedule__deal").order_by(*LINES_ORDER)
            .annotate(remaining=F("amount") - F("paid")))


LINES_ORDER = ("due_date", "schedule__deal__external_id", "seq")


def _debtors_due(*, account: Account, flt: AnalyticsFilter, today: date, bucket: str | None) -> QuerySet[Installment]:
    """The unpaid lines the filter and the bucket's days late pick (no order, no ladder)."""
    return _due_between(_in_range(_installments(account, flt), "due_date", flt), *_bucket_bounds(today, bucket))


def _due_between(lines: QuerySet, due_until: date, due_from: date | None) -> QuerySet:
    lines = lines.filter(due_date__lte=due_until)
    return lines if due_from is None else lines.filter(due_date__gte=due_from)


def _bucket_bounds(today: date, bucket: str | None) -> tuple[date, date | None]:
    """The due dates of the bucket's lines: the last, and the first (None: no start)."""
    low, high = _bucket_days(bucket)
    return today - timedelta(days=low), None if high is None else today - timedelta(days=high)


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
    """The page's rows of `debtors_lines`' lines; the next step comes from the policy and the steps already
    recorded (one query)."""
    _enabled, policy = policy_get(account=account)
    ladder = _ladder(policy)
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
            next_step=_next_step(ladder, item.due_date, item.shift_days, recorded.get(item.line_id, set()), today)))
    return rows


def debtors_page(*, account: Account, flt: AnalyticsFilter, today: date, bucket: str | None = None, start: int,
                 size: int) -> list[DebtorRow]:
    """The rows of `debtors_lines`' lines `start` to `start + size`, as `debtor_rows` makes them."""
    statement = _page_statement(_shape(flt, bucket), connection.vendor) if connection.vendor == "postgresql" else None
    if statement is None:
        lines = debtors_lines(account=account, flt=flt, today=today, bucket=bucket)
        return debtor_rows(account=account, items=list(lines[start:start + size]), today=today)
    due_until, due_from = _bucket_bounds(today, bucket)
    slots = {"account": account.pk, "direction": flt.direction, "due_until": due_until, "due_from": due_from,
             **{name: getattr(flt, name) for name in OPTIONAL_FILTERS}}
    with connection.cursor() as cursor:
        cursor.execute(_page_sql(statement.sql),
                       [*statement.params(slots), size, start, StepRun.Status.SENT])
        values = statement.rows(cursor.fetchall())
    _enabled, policy = policy_get(account=account)
    ladder = _ladder(policy)
    rows = []
    for (seq, due_date, kind, amount, paid, _deal_id, external_id, name, client, phone, email, debt, manager_id,
         _line_id, paused_until, shift_days, recorded, last_contact_at, last_contact_channel) in values:
        days = days_late(due_date, today)
        rows.append(DebtorRow(
            external_id=external_id, deal_name=name, client=client, phone=phone, email=email, seq=seq, kind=kind,
            due_date=due_date, amount=amount, remaining=amount - paid, debt=debt, days_overdue=max(days, 0),
            bucket=domain.aging_bucket(days), manager_id=manager_id, last_contact_at=last_contact_at,
            last_contact_channel=last_contact_channel, paused_until=paused_until,
            next_step=_next_step(ladder, due_date, shift_days, recorded or (), today)))
    return rows


# The line's columns the page reads (model fields first, the `manager` annotation last: `compiled_statement`
# checks the order), named c0… in the page's SQL; `_ORDER_ALIASES`: `LINES_ORDER` among them.
LINE_COLUMNS = ("seq", "due_date", "kind", "amount", "paid", "schedule__deal", "schedule__deal__external_id",
                "schedule__deal__name", "schedule__deal__contact_name", "schedule__deal__contact_phone",
                "schedule__deal__contact_email", "schedule__deal__debt", "manager")
_LINE_ALIASES = tuple(f"c{position}" for position in range(len(LINE_COLUMNS)))
_ORDER_ALIASES = ("c1", "c6", "c0")  # due_date, the deal's external_id, seq: LINES_ORDER


def _shape(flt: AnalyticsFilter, bucket: str | None) -> tuple[bool, ...]:
    # The selectors test each optional filter by truth (`if flt.group:`); a bucket may have no first day.
    return (*(bool(getattr(flt, name)) for name in OPTIONAL_FILTERS), _bucket_days(bucket)[1] is not None)


def _page_compiled(shape: tuple[bool, ...], seed: int) -> tuple[str, list, dict, bool, tuple]:
    """`_compiled` of analytics' rows, for the page's lines (unsliced: the page adds LIMIT and OFFSET)."""
    values = {**filter_stand_ins(seed), "due_until": date(1911, 1, seed), "due_from": date(1912, 1, seed)}
    flt = AnalyticsFilter(direction=values["direction"], **{
        name: values[name] for name, is_set in zip(OPTIONAL_FILTERS, shape, strict=False) if is_set})
    lines = _in_range(_installments(Account(pk=values["account"]), flt), "due_date", flt)
    return queryset_compiled(_due_between(lines, values["due_until"], values["due_from"] if shape[-1] else None)
                             .order_by(*LINES_ORDER).values_list(*LINE_COLUMNS), values)


@functools.lru_cache(maxsize=64)
def _page_statement(shape: tuple[bool, ...], vendor: str):
    return compiled_statement(functools.partial(_page_compiled, shape))


@functools.lru_cache(maxsize=64)
def _page_sql(lines_sql: str) -> str:
    """The page's lines (LIMIT, OFFSET) and, for each, its ladder line's id, pause and shift, the keys of the
    steps recorded for that ladder line, and the deal's last sent step (as `debtors_lines`' sub-selects: the
    latest `finished_at`, then the highest id)."""
    columns = ", ".join(f"page.{alias}" for alias in _LINE_ALIASES)
    order = ", ".join(f"page.{alias}" for alias in _ORDER_ALIASES)
    ladder, runs = DunningLine._meta.db_table, StepRun._meta.db_table
    return (f"SELECT {columns}, ladder.id, ladder.paused_until, ladder.shift_days, recorded.keys, sent.finished_at, "  # noqa: S608 (table names; values are parameters)
            f"sent.channel FROM ({lines_sql} LIMIT %s OFFSET %s) AS page ({', '.join(_LINE_ALIASES)}) "
            f"LEFT JOIN LATERAL (SELECT id, paused_until, shift_days FROM {ladder} WHERE deal_id = page.c5 "
            "AND seq = page.c0 AND due_date = page.c1 LIMIT 1) AS ladder ON true "
            f"LEFT JOIN LATERAL (SELECT array_agg(step_key) AS keys FROM {runs} WHERE line_id = ladder.id) "
            "AS recorded ON true "
            f"LEFT JOIN LATERAL (SELECT finished_at, channel FROM {runs} WHERE deal_id = page.c5 AND status = %s "
            "ORDER BY finished_at DESC, id DESC LIMIT 1) AS sent ON true "
            f"ORDER BY {order}")


def _ladder(policy: domain.Policy) -> tuple[tuple[int, str, str], ...]:
    """The policy's steps in the order a line takes them (day, then channel), each as (day, channel, key)."""
    return tuple((step.day, step.channel, step.key)
                 for step in sorted(policy.steps, key=lambda step: (step.day, step.channel)))


def _next_step(ladder: tuple[tuple[int, str, str], ...], due_date: date, shift_days: int | None, recorded,
               today: date) -> NextStep | None:
    """The first step of the ladder (`_ladder`) not recorded whose day is not past."""
    due = due_date + timedelta(days=shift_days or 0)
    for day, channel, key in ladder:
        on = due + timedelta(days=day)
        if key not in recorded and on >= today:
            return NextStep(day=day, channel=channel, date=on)
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
    found, ladder = [], _ladder(policy)
    for item in items:
        if item.ladder_done_at is not None:
            continue
        step = _next_step(ladder, item.due_date, item.shift_days, recorded.get(item.line_id, set()), today)
        if step is not None:
            found.append(DealNextStep(seq=item.seq, due_date=item.due_date, day=step.day, channel=step.channel,
                                      date=step.date))
    return min(found, key=lambda step: (step.date, step.seq), default=None)
