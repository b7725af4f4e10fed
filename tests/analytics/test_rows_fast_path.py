"""[I] The rows' fast path (billing.selectors.analytics_rows: tuples, a statement compiled once per filter shape)
gives exactly what the general path gives (`analytics_rows_keyset`'s model instances made rows by `analytics_row`):
every kind, every filter, page by page across ties on the dates, the next cursors too; on PostgreSQL from the
cached statement, elsewhere (`make run`'s SQLite) by the ORM as usual."""
from datetime import timedelta
from decimal import Decimal
from itertools import product

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.domain.schedule import PlanRequest
from billing.models import Deal
from billing.selectors import analytics_rows as fast
from billing.selectors.analytics import AnalyticsFilter, analytics_row, analytics_rows, analytics_rows_keyset
from billing.services import ScheduleOptions, deal_get_or_create, schedule_replace
from billing.services.payments import PaymentInput, payment_record
from billing.time import account_today

pytestmark = pytest.mark.django_db
KINDS = ("received", "upcoming", "overdue")


@pytest.fixture
def ties(account):
    """12 deals whose plans share due dates and whose payments share days (the keyset's ties), created out of
    lead order; groups, education directions, plan managers and deal managers; a blank deal name, a cancelled
    deal, an outgoing plan, an opening balance, partly paid lines."""
    today = account_today(account)
    for number, lead in enumerate((907, 903, 911, 901, 905, 909, 902, 912, 904, 910, 906, 908)):
        deal = deal_get_or_create(account=account, external_id=lead)
        Deal.objects.filter(pk=deal.pk).update(name="" if lead == 905 else f"  Курс {lead} ",
                                               contact_name=f"Клиент {lead % 4}", responsible_user_id=600 + lead % 2)
        deal.refresh_from_db()
        first_due = today - timedelta(days=130 if number % 2 else 100)  # two groups of identical due dates
        schedule_replace(deal=deal, plan_request=PlanRequest(
            plan="equal", total=Decimal("30000.00") + number, installments_count=6, first_due_date=first_due,
            due_day=None), options=ScheduleOptions(
                manager_id=(501, 502, None)[number % 3], group=f"Поток {number % 2}",
                education_direction=("Массаж", "Косметология", "")[number % 3],
                direction="outgoing" if lead == 912 else "incoming"),
            request_data={}, created_by=1, today=first_due - timedelta(days=5))
        for paid_at in (today - timedelta(days=40), today - timedelta(days=40), today - timedelta(days=3)):
            payment_record(deal=deal, amount=Decimal("2500.50"), allow_credit=True,
                           payment=PaymentInput(method="cash", paid_at=paid_at))
        if lead == 903:
            payment_record(deal=deal, amount=Decimal("100.00"), allow_credit=True,
                           payment=PaymentInput(method="opening_balance", paid_at=today - timedelta(days=40)))
        if lead == 909:
            Deal.objects.filter(pk=deal.pk).update(cancelled_at=timezone.now())
    return account


FILTERS = {
    "none": AnalyticsFilter(),
    "group": AnalyticsFilter(group="Поток 1"),
    "education direction and group": AnalyticsFilter(education_direction="Массаж", group="Поток 0"),
    "plan manager": AnalyticsFilter(manager_id=501),
    "deal manager": AnalyticsFilter(manager_id=601),  # the deal's, for plans without one
    "outgoing": AnalyticsFilter(direction="outgoing"),
    "blank group": AnalyticsFilter(group=""),  # blank: no filter
    "range": "range",
    "range and manager": "range, manager",
}


def _filter(account, flt) -> AnalyticsFilter:
    if not isinstance(flt, str):
        return flt
    today = account_today(account)
    return AnalyticsFilter(date_from=today - timedelta(days=45), date_to=today + timedelta(days=31),
                           manager_id=502 if "manager" in flt else None)


def _general_pages(account, flt, kind: str, size: int) -> list:
    today, pages, cursor = account_today(account), [], None
    while True:
        items, cursor = analytics_rows_keyset(account=account, flt=flt, kind=kind, cursor=cursor, size=size)
        pages.append(([analytics_row(item, kind, today) for item in items], cursor))
        if cursor is None:
            return pages


def _fast_pages(account, flt, kind: str, size: int) -> list:
    pages, cursor = [], None
    while True:
        rows, cursor = fast.analytics_rows_page(account=account, flt=flt, kind=kind, cursor=cursor, size=size)
        pages.append((rows, cursor))
        if cursor is None:
            return pages


def test_the_book_has_ties_on_every_keyset(ties):
    today = account_today(ties)
    payments = list(analytics_rows(account=ties, flt=AnalyticsFilter(), kind="received"))
    assert len({payment.paid_at for payment in payments}) < len(payments) / 4
    for kind in ("upcoming", "overdue"):
        lines = list(analytics_rows(account=ties, flt=AnalyticsFilter(), kind=kind))
        assert len({line.due_date for line in lines}) < len(lines) / 2, kind
    partly = analytics_rows(account=ties, flt=AnalyticsFilter(), kind="overdue").filter(paid__gt=0)
    assert partly.exists()
    assert any(analytics_row(line, "overdue", today).deal_name == "Сделка №905"
               for line in analytics_rows(account=ties, flt=AnalyticsFilter(), kind="overdue"))


@pytest.mark.parametrize(("kind", "name"), list(product(KINDS, FILTERS)))
def test_the_fast_pages_are_the_general_pages(ties, kind, name):
    flt = _filter(ties, FILTERS[name])
    for size in (1, 3, 7, 500):
        expected = _general_pages(ties, flt, kind, size)
        assert _fast_pages(ties, flt, kind, size) == expected, (kind, flt, size)
    assert sum(len(rows) for rows, _cursor in expected) == len(
        analytics_rows(account=ties, flt=flt, kind=kind)), "one page of 500 holds them all"


@pytest.mark.parametrize("kind", KINDS)
def test_on_postgresql_a_page_is_one_statement_compiled_once(ties, kind, monkeypatch):
    fast._statement.cache_clear()
    first, cursor = fast.analytics_rows_page(account=ties, flt=AnalyticsFilter(manager_id=501), kind=kind,
                                             cursor=None, size=2)
    fast.analytics_rows_page(account=ties, flt=AnalyticsFilter(manager_id=501), kind=kind, cursor=cursor, size=2)
    compiles = fast._statement.cache_info().misses
    monkeypatch.setattr(fast, "analytics_rows", lambda **kwargs: pytest.fail("the ORM compiled a cached page"))
    with CaptureQueriesContext(connection) as queries:
        again, _next = fast.analytics_rows_page(account=ties, flt=AnalyticsFilter(manager_id=502), kind=kind,
                                                cursor=cursor, size=2)
    assert len(queries) == 1
    assert fast._statement.cache_info().misses == compiles
    assert again != first


def test_every_kind_and_filter_shape_compiles_to_a_statement_on_postgresql(db):
    for kind, shape, limit in product(KINDS, product((False, True), repeat=len(fast.OPTIONAL_FILTERS) + 1), (2, 51)):
        assert fast._statement(kind, shape, limit, connection.vendor) is not None, (kind, shape)


@pytest.mark.parametrize("kind", KINDS)
def test_elsewhere_the_pages_are_compiled_by_the_orm_and_the_same(ties, kind, monkeypatch):
    flt = _filter(ties, "range, manager")
    expected = _general_pages(ties, flt, kind, 2)
    monkeypatch.setattr(connection, "vendor", "sqlite")
    monkeypatch.setattr(fast, "_statement", lambda *args: pytest.fail("a cached statement off PostgreSQL"))
    assert _fast_pages(ties, flt, kind, 2) == expected


@pytest.mark.parametrize("kind", KINDS)
def test_the_api_pages_by_number_and_by_cursor_give_the_general_rows(ties, widget, kind):
    flt = AnalyticsFilter(group="Поток 0")
    expected = [row for rows, _cursor in _general_pages(ties, flt, kind, 3) for row in rows]
    by_number = widget.get("/api/v1/analytics/rows", kind=kind, group="Поток 0", page_size=3, page=2).json()
    cursor = widget.get("/api/v1/analytics/rows", kind=kind, group="Поток 0", page_size=3).json()["next_cursor"]
    by_cursor = widget.get("/api/v1/analytics/rows", kind=kind, group="Поток 0", page_size=3, cursor=cursor).json()
    assert by_number["results"] == by_cursor["results"]
    assert by_number["next_cursor"] == by_cursor["next_cursor"]
    assert [(row["lead_id"], row["date"], row["seq"], row["amount"], row["paid"], row["remaining"],
             row["days_overdue"], row["manager_id"], row["method"], row["deal_name"], row["client"])
            for row in by_number["results"]] == [
        (row.external_id, row.date.isoformat(), row.seq, str(row.amount), str(row.paid), str(row.remaining),
         row.days_overdue, row.manager_id, row.method, row.deal_name, row.client) for row in expected[3:6]]
