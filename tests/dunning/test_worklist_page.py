"""«Должники сегодня»'s page (`debtors_page`: on PostgreSQL tuples by a statement compiled once per filter shape,
the ladder line, recorded steps and last sent step by LEFT JOIN LATERAL) gives exactly the rows the previous
implementation made of `debtors_lines`' model instances (its correlated sub-selects, `debtor_rows` with the
policy's steps sorted per line): every bucket and filter, page by page, with paused and postponed lines, steps
recorded and sent (ties on the sending time), a stored ladder; elsewhere (`make run`'s SQLite) by the ORM. The
account's policy, read on every page, is read the same way (compiled once on PostgreSQL)."""
from datetime import date, timedelta
from decimal import Decimal
from itertools import product

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.domain.schedule import PlanRequest
from billing.domain.status import days_late
from billing.dunning import domain, selectors, worklist
from billing.dunning.models import DunningLine, DunningPolicy, StepRun
from billing.dunning.selectors import policy_get
from billing.dunning.worklist import DebtorRow, NextStep, debtors_lines, debtors_page
from billing.models import Deal, Installment
from billing.selectors.analytics import AnalyticsFilter
from billing.services import ScheduleOptions, deal_get_or_create, schedule_replace
from billing.services.payments import PaymentInput, payment_record
from billing.time import account_today

pytestmark = pytest.mark.django_db
BUCKETS = (None, *domain.BUCKET_NAMES)


def _previous_next_step(policy: domain.Policy, item: Installment, recorded: set[str], today: date):
    due = item.due_date + timedelta(days=item.shift_days or 0)
    for step in sorted(policy.steps, key=lambda step: (step.day, step.channel)):
        on = due + timedelta(days=step.day)
        if step.key not in recorded and on >= today:
            return NextStep(day=step.day, channel=step.channel, date=on)
    return None


def _previous_rows(account, flt: AnalyticsFilter, today: date, bucket: str | None, start: int, size: int):
    """The page as the view made it before: `debtors_lines` sliced, model instances, `debtor_rows` of then."""
    items = list(debtors_lines(account=account, flt=flt, today=today, bucket=bucket)[start:start + size])
    _enabled, policy = policy_get(account=account)
    recorded: dict[int, set[str]] = {}
    for line_id, key in StepRun.objects.filter(line_id__in=[item.line_id for item in items if item.line_id]
                                               ).values_list("line_id", "step_key"):
        recorded.setdefault(line_id, set()).add(key)
    rows = []
    for item in items:
        deal = item.schedule.deal
        days = days_late(item.due_date, today)
        rows.append(DebtorRow(
            external_id=deal.external_id, deal_name=deal.name, client=deal.contact_name, phone=deal.contact_phone,
            email=deal.contact_email, seq=item.seq, kind=item.kind, due_date=item.due_date, amount=item.amount,
            remaining=item.amount - item.paid, debt=deal.debt, days_overdue=max(days, 0),
            bucket=domain.aging_bucket(days), manager_id=item.manager,
            last_contact_at=item.last_contact_at, last_contact_channel=item.last_contact_channel,
            paused_until=item.paused_until,
            next_step=_previous_next_step(policy, item, recorded.get(item.line_id, set()), today)))
    return rows


@pytest.fixture
def book(account):
    """14 deals with monthly lines from 250 days ago to a month ahead (every bucket; deals sharing due dates),
    groups, education directions, plan and deal managers, partly paid lines, a cancelled deal, an outgoing plan;
    ladder lines paused or postponed, steps recorded in every status and sent (two at the same moment)."""
    today = account_today(account)
    now = timezone.now()
    for number, lead in enumerate((8007, 8003, 8011, 8001, 8005, 8009, 8002, 8012, 8004, 8010, 8006, 8008, 8013,
                                   8014)):
        deal = deal_get_or_create(account=account, external_id=lead)
        Deal.objects.filter(pk=deal.pk).update(name="" if lead == 8005 else f"Курс {lead}",
                                               contact_name=f"Клиент {lead % 4}", contact_phone=f"+7 900 {lead}",
                                               contact_email=f"c{lead}@example.test",
                                               responsible_user_id=600 + lead % 2)
        deal.refresh_from_db()
        first_due = today - timedelta(days=(250, 130, 45, 10, 28)[number % 5])
        schedule_replace(deal=deal, plan_request=PlanRequest(
            plan="equal", total=Decimal("60000.00") + number, installments_count=10, first_due_date=first_due,
            due_day=None), options=ScheduleOptions(
                manager_id=(501, 502, None)[number % 3], group=f"Поток {number % 2}",
                education_direction=("Массаж", "Косметология", "")[number % 3],
                direction="outgoing" if lead == 8012 else "incoming"),
            request_data={}, created_by=1, today=first_due - timedelta(days=5))
        payment_record(deal=deal, amount=Decimal("2500.50") * (number % 3), allow_credit=True,
                       payment=PaymentInput(method="cash", paid_at=today - timedelta(days=3))) if number % 3 else None
        if lead == 8009:
            Deal.objects.filter(pk=deal.pk).update(cancelled_at=now)
        deal.refresh_from_db()
        lines = list(Installment.objects.filter(schedule__deal=deal, schedule__is_active=True).order_by("seq"))
        for line in lines[: 1 + number % 4] if number < 12 else ():  # the last two: no ladder yet
            ladder = DunningLine.objects.create(
                account=account, deal=deal, installment=line, seq=line.seq, due_date=line.due_date,
                shift_days=(0, 5, 0, 40)[(number + line.seq) % 4],
                paused_until=today + timedelta(days=4) if (number + line.seq) % 3 == 0 else None)
            for day, channel, status in ((0, "client_email", StepRun.Status.SENT),
                                         (3, "client_sms", (StepRun.Status.SENT, StepRun.Status.FAILED,
                                                            StepRun.Status.CANCELLED)[number % 3]),
                                         (7, "manager_task", StepRun.Status.PLANNED))[: (number + line.seq) % 4]:
                StepRun.objects.create(
                    account=account, deal=deal, line=ladder, step_key=f"{day:+d}:{channel}", day=day, channel=channel,
                    status=status, send_after=now,
                    finished_at=(now - timedelta(days=(number % 5) + (0 if number % 2 else day)))
                    if status == StepRun.Status.SENT else None)
    return account


FILTERS = {
    "none": AnalyticsFilter(),
    "group": AnalyticsFilter(group="Поток 1"),
    "education direction and group": AnalyticsFilter(education_direction="Массаж", group="Поток 0"),
    "plan manager": AnalyticsFilter(manager_id=501),
    "deal manager": AnalyticsFilter(manager_id=601),
    "outgoing": AnalyticsFilter(direction="outgoing"),
    "range": "range",
}


def _filter(account, flt) -> AnalyticsFilter:
    if not isinstance(flt, str):
        return flt
    today = account_today(account)
    return AnalyticsFilter(date_from=today - timedelta(days=150), date_to=today - timedelta(days=20))


def _pages(account, flt, today, bucket, size, make) -> list[list[DebtorRow]]:
    pages, start = [], 0
    while True:
        rows = make(account, flt, today, bucket, start, size)
        pages.append(rows)
        if len(rows) < size:
            return pages
        start += size


def _page(account, flt, today, bucket, start, size):
    return debtors_page(account=account, flt=flt, today=today, bucket=bucket, start=start, size=size)


def test_the_book_has_what_the_page_shows(book):
    today = account_today(book)
    lines = list(debtors_lines(account=book, flt=AnalyticsFilter(), today=today))
    rows = _previous_rows(book, AnalyticsFilter(), today, None, 0, 1000)
    assert len({line.due_date for line in lines}) < len(lines) / 2, "deals share due dates"
    assert {row.bucket for row in rows} == set(domain.BUCKET_NAMES) - {"due_next_7_days"}
    assert any(row.paused_until for row in rows)
    assert any(row.paused_until is None for row in rows)
    assert any(row.last_contact_at for row in rows)
    assert any(row.last_contact_at is None for row in rows)
    assert any(row.next_step for row in rows)
    assert any(row.next_step is None for row in rows)
    assert any(row.remaining != row.amount for row in rows)
    assert _previous_rows(book, AnalyticsFilter(), today, "due_next_7_days", 0, 1000)


@pytest.mark.parametrize(("name", "bucket"), list(product(FILTERS, BUCKETS)))
def test_the_pages_are_the_previous_implementations_rows(book, name, bucket):
    today, flt = account_today(book), _filter(book, FILTERS[name])
    for size in (1, 4, 50):
        expected = _pages(book, flt, today, bucket, size, _previous_rows)
        assert _pages(book, flt, today, bucket, size, _page) == expected, (name, bucket, size)
    assert sum(len(rows) for rows in expected) == debtors_lines(account=book, flt=flt, today=today,
                                                               bucket=bucket).count()


def test_a_stored_ladder_gives_the_previous_next_steps(book):
    DunningPolicy.objects.create(account=book, enabled=True, config={"steps": [
        {"day": 10, "channel": "manager_task"}, {"day": 3, "channel": "client_whatsapp"},
        {"day": 3, "channel": "client_sms"}, {"day": 0, "channel": "client_email"}]})
    today, shown = account_today(book), []
    for bucket in BUCKETS:
        expected = _previous_rows(book, AnalyticsFilter(), today, bucket, 0, 1000)
        assert _page(book, AnalyticsFilter(), today, bucket, 0, 1000) == expected, bucket
        shown += expected
    assert {row.next_step.channel for row in shown if row.next_step} >= {"client_whatsapp", "manager_task"}


def test_on_postgresql_a_page_is_one_statement_compiled_once(book, monkeypatch):
    today = account_today(book)
    worklist._page_statement.cache_clear()
    first = _page(book, AnalyticsFilter(group="Поток 0"), today, "overdue_91_180", 0, 2)
    compiles = worklist._page_statement.cache_info().misses
    monkeypatch.setattr(worklist, "debtors_lines", lambda **kwargs: pytest.fail("the ORM made a cached page"))
    with CaptureQueriesContext(connection) as queries:
        again = _page(book, AnalyticsFilter(group="Поток 1"), today, "overdue_31_90", 2, 2)
    assert len(queries) == 2  # the page, the account's ladder
    assert worklist._page_statement.cache_info().misses == compiles
    assert again
    assert again != first


def test_every_filter_shape_compiles_to_a_statement_on_postgresql(db):
    for shape in product((False, True), repeat=len(worklist.OPTIONAL_FILTERS) + 1):
        assert worklist._page_statement(shape, connection.vendor) is not None, shape


def test_elsewhere_the_page_is_made_by_the_orm_and_the_same(book, monkeypatch):
    today, flt = account_today(book), _filter(book, "range")
    expected = _pages(book, flt, today, None, 3, _previous_rows)
    monkeypatch.setattr(connection, "vendor", "sqlite")
    monkeypatch.setattr(worklist, "_page_statement", lambda *args: pytest.fail("a cached statement off PostgreSQL"))
    assert _pages(book, flt, today, None, 3, _page) == expected


def test_the_api_page_shows_the_previous_rows(book, widget):
    today = account_today(book)
    body = widget.get("/api/v1/analytics/debtors-today", bucket="overdue_31_90", page_size=3, page=2).json()
    [*expected] = _previous_rows(book, AnalyticsFilter(), today, "overdue_31_90", 3, 3)
    assert body["count"] == debtors_lines(account=book, flt=AnalyticsFilter(), today=today,
                                          bucket="overdue_31_90").count()
    assert [(row["lead_id"], row["due_date"], row["seq"], row["remaining"], row["paused_until"],
             row["last_contact_channel"], row["next_step"]) for row in body["results"]] == [
        (row.external_id, row.due_date.isoformat(), row.seq, str(row.remaining),
         row.paused_until and row.paused_until.isoformat(), row.last_contact_channel,
         row.next_step and {"day": row.next_step.day, "channel": row.next_step.channel,
                            "date": row.next_step.date.isoformat()}) for row in expected]
    assert len(expected) == 3


def test_the_policy_is_read_by_a_statement_compiled_once_on_postgresql_and_by_the_orm_elsewhere(account, monkeypatch):
    assert policy_get(account=account) == (True, domain.DEFAULT_POLICY)
    DunningPolicy.objects.create(account=account, enabled=False, config={"cutoff_hour": 17, "steps": [
        {"day": 5, "channel": "client_sms"}, {"day": -2, "channel": "client_email"}]})
    expected = (False, domain.policy_parse(DunningPolicy.objects.get(account=account).config))
    with CaptureQueriesContext(connection) as queries:
        assert policy_get(account=account) == expected
    assert len(queries) == 1
    assert selectors._policy_statement.cache_info().currsize == 1
    monkeypatch.setattr(connection, "vendor", "sqlite")
    monkeypatch.setattr(selectors, "_policy_statement", lambda *args: pytest.fail("a cached statement off PostgreSQL"))
    assert policy_get(account=account) == expected
    DunningPolicy.objects.all().delete()
    assert policy_get(account=account) == (True, domain.DEFAULT_POLICY)
