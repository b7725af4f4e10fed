"""An account's money by day (or by manager) for one analytics filter, from the rollup [I]
(billing/rollup_sql.py): the day totals plus a live recount of the deals changed since the last fold — one
statement, exact either way."""
from datetime import date

from django.conf import settings
from django.db import connection

from billing import rollup_sql
from billing.domain.day_figures import DayFigures, ManagerFigures
from billing.models import Account

_FILTERS = (("group", "deal_group"), ("education_direction", "education_direction"), ("manager_id", "manager_id"))


def analytics_rollup_enabled() -> bool:
    """The rollup's triggers are PostgreSQL's; on SQLite (`make run`) analytics counts the lines."""
    return connection.vendor == "postgresql" and getattr(settings, "PAYPLAN_ANALYTICS_ROLLUP", True)


def _figures(account: Account, flt, group: str, first: date | None = None, last: date | None = None) -> list[tuple]:
    where, params = ["direction = %(direction)s"], {"account": account.pk, "direction": flt.direction}
    for name, column in _FILTERS:
        value = getattr(flt, name)
        if value:  # as the selectors: an empty filter is no filter
            where.append(f"{column} = %({name})s")
            params[name] = value
    if first is not None:
        where.append("day >= %(first)s")
        params["first"] = first
    if last is not None:
        where.append("day <= %(last)s")
        params["last"] = last
    with connection.cursor() as cursor:
        cursor.execute(rollup_sql.DAYS.format(group=group, where=" AND ".join(where)), params)
        return cursor.fetchall()


def analytics_days(*, account: Account, flt, first: date | None = None, last: date | None = None
                   ) -> list[DayFigures]:
    """Every day (from `first` to `last` if given) with a line due or a payment received, oldest first,
    filtered as `flt` (an AnalyticsFilter) filters; its date range is left to the caller (each figure has its
    own)."""
    return [DayFigures(*row) for row in _figures(account, flt, "day", first, last)]


def analytics_by_manager(*, account: Account, flt, first: date, last: date) -> list[ManagerFigures]:
    """The lines due from `first` to `last` by manager (the plan's, else the deal's responsible; None last),
    filtered as `flt` filters but for its date range."""
    return [ManagerFigures(*row) for row in _figures(account, flt, "manager_id", first, last)]
