"""Analytics' row pages [I]: the rows behind a total read as tuples of the columns a row shows, and on PostgreSQL
a keyset page by a statement the ORM compiled once per (kind, filter shape, page size).

The rows are those of `analytics_rows` (its filters, joins and order are the only definition): this module
only picks the columns (`values_list`) and builds each `AnalyticsRow` from a tuple, with no model instances.
A keyset page (`analytics_rows_page`) costs a ~1 ms index scan on PostgreSQL; building the queryset and
compiling its SQL cost more than that, so the SQL is compiled once for each shape of filter (which of the
optional filters are set, a cursor or not) with stand-in values, and later pages put the request's values in
its parameters. Off PostgreSQL (`make run`'s SQLite, whose parameters and converters differ) every page
is compiled as usual."""
import functools
from collections.abc import Iterable
from datetime import date

from django.db import connection
from django.db.models import QuerySet

from billing.domain.money import ZERO
from billing.domain.status import days_late
from billing.models import Account
from billing.names import deal_display_name
from billing.selectors.analytics import (
    AnalyticsFilter,
    AnalyticsRow,
    _cursor_decode,
    _cursor_encode,
    analytics_rows,
    analytics_rows_after,
)
from billing.selectors.compiled_sql import CompiledStatement, compiled_statement, queryset_compiled
from billing.time import account_today

# The columns a row shows, in the order the compiled SQL selects them (model fields first, then the
# `manager` annotation: `compiled_statement` checks it); the keyset's columns are among them.
RECEIVED_COLUMNS = ("pk", "paid_at", "amount", "method", "deal__external_id", "deal__name", "deal__contact_name",
                    "deal__group", "deal__education_direction", "deal__direction", "deal__responsible_user_id")
LINE_COLUMNS = ("seq", "due_date", "amount", "paid", "schedule__deal__external_id", "schedule__deal__name",
                "schedule__deal__contact_name", "schedule__deal__group", "schedule__deal__education_direction",
                "schedule__deal__direction", "manager")
# The optional filters: set or not, each changes the SQL (the shape a statement is compiled for).
OPTIONAL_FILTERS = ("date_from", "date_to", "group", "education_direction", "manager_id")


def analytics_row_values(*, account: Account, flt: AnalyticsFilter, kind: str, today: date | None = None,
                         cursor: str | None = None) -> QuerySet:
    """`analytics_rows` (after `cursor` if given) as tuples of the row's columns, for `analytics_rows_from_values`."""
    rows = analytics_rows(account=account, flt=flt, kind=kind, today=today or account_today(account))
    if cursor:
        rows = analytics_rows_after(rows=rows, kind=kind, cursor=cursor)
    return rows.values_list(*(RECEIVED_COLUMNS if kind == "received" else LINE_COLUMNS))


def analytics_rows_from_values(values: Iterable[tuple], kind: str, today: date) -> Iterable[AnalyticsRow]:
    """The rows of `analytics_row_values`' tuples, as `analytics_row` makes them of model instances (lazily)."""
    if kind == "received":
        return (AnalyticsRow(kind=kind, external_id=external_id,
                             deal_name=deal_display_name(name=name, external_id=external_id),
                             client=client, group=group, education_direction=education_direction,
                             direction=direction, date=paid_at, amount=amount, paid=amount, remaining=ZERO,
                             days_overdue=0, manager_id=manager_id, method=method)
                for (_pk, paid_at, amount, method, external_id, name, client, group, education_direction, direction,
                     manager_id) in values)
    return (AnalyticsRow(kind=kind, external_id=external_id,
                         deal_name=deal_display_name(name=name, external_id=external_id),
                         client=client, group=group, education_direction=education_direction, direction=direction,
                         date=due_date, amount=amount, paid=paid, remaining=amount - paid,
                         days_overdue=days_late(due_date, today), manager_id=manager_id, seq=seq)
            for (seq, due_date, amount, paid, external_id, name, client, group, education_direction, direction,
                 manager_id) in values)


def analytics_values_cursor(*, kind: str, values: tuple) -> str:
    """The cursor of the page after the row of these values (as `analytics_row_cursor` of its model instance)."""
    if kind == "received":
        return _cursor_encode(kind, (values[1].isoformat(), values[0]))
    return _cursor_encode(kind, (values[1].isoformat(), values[4], values[0]))


def analytics_rows_page(*, account: Account, flt: AnalyticsFilter, kind: str, cursor: str | None, size: int,
                        today: date | None = None) -> tuple[list[AnalyticsRow], str | None]:
    """One keyset page of the rows behind a total and the cursor of the next (None: the last page): the rows and
    the cursor `analytics_rows_keyset` gives, made rows."""
    today = today or account_today(account)
    limit = size + 1
    statement = (_statement(kind, _shape(flt, cursor), limit, connection.vendor)
                 if connection.vendor == "postgresql" else None)
    if statement is None:
        values = list(analytics_row_values(account=account, flt=flt, kind=kind, today=today, cursor=cursor)[:limit])
    else:
        with connection.cursor() as db_cursor:
            db_cursor.execute(statement.sql, statement.params(_slots(account, flt, today, kind, cursor)))
            values = statement.rows(db_cursor.fetchall())
    rows = list(analytics_rows_from_values(values[:size], kind, today))
    return rows, analytics_values_cursor(kind=kind, values=values[size - 1]) if len(values) > size else None


def _shape(flt: AnalyticsFilter, cursor: str | None) -> tuple[bool, ...]:
    # The selectors test each optional filter by truth (`if flt.group:`), and so does the shape.
    return (*(bool(getattr(flt, name)) for name in OPTIONAL_FILTERS), bool(cursor))


def _slots(account: Account, flt: AnalyticsFilter, today: date, kind: str, cursor: str | None) -> dict:
    """The values a compiled statement's parameters are taken from, by name."""
    slots = {"account": account.pk, "direction": flt.direction, "today": today,
             **{name: getattr(flt, name) for name in OPTIONAL_FILTERS}}
    if cursor:
        slots["after_day"], slots["after_first"], slots["after_second"] = _cursor_decode(kind, cursor)
    return slots


def filter_stand_ins(seed: int) -> dict:
    """Values no request holds, each of its parameter's type and unlike every other, to tell the parameters of a
    compiled statement apart (two seeds: a value the SQL text or a constant hides shows as a difference)."""
    return {"account": 9_100_000_000 + seed, "manager_id": 9_200_000_000 + seed,
            "after_first": 9_300_000_000 + seed, "after_second": 2_000_000_000 + seed,
            "direction": f"stand-in direction {seed}", "group": f"stand-in group {seed}",
            "education_direction": f"stand-in education direction {seed}",
            "date_from": date(1901, 1, seed), "date_to": date(1902, 1, seed), "today": date(1903, 1, seed),
            "after_day": date(1904, 1, seed)}


def _compiled(kind: str, shape: tuple[bool, ...], limit: int, seed: int) -> tuple[str, list, dict, bool, tuple]:
    """The SQL and parameters of the page's queryset for these stand-ins, whether the rows come in the columns'
    order, and the converters the ORM applies to the values read (by position)."""
    values = filter_stand_ins(seed)
    flt = AnalyticsFilter(direction=values["direction"], **{
        name: values[name] for name, is_set in zip(OPTIONAL_FILTERS, shape, strict=False) if is_set})
    cursor = None
    if shape[-1]:
        parts = (values["after_day"].isoformat(), values["after_first"],
                 *(() if kind == "received" else (values["after_second"],)))
        cursor = _cursor_encode(kind, parts)
    queryset = analytics_row_values(account=Account(pk=values["account"]), flt=flt, kind=kind, today=values["today"],
                                    cursor=cursor)[:limit]
    return queryset_compiled(queryset, values)


@functools.lru_cache(maxsize=256)
def _statement(kind: str, shape: tuple[bool, ...], limit: int, vendor: str) -> CompiledStatement | None:
    """The page's SQL compiled once (see `compiled_statement`)."""
    return compiled_statement(functools.partial(_compiled, kind, shape, limit))
