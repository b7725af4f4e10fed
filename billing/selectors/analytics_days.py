"""An account's money by day for one analytics filter, from the rollup [I] (billing/rollup_sql.py): the day
totals plus a live recount of the deals changed since the last fold — one statement, exact either way."""
from django.conf import settings
from django.db import connection

from billing import rollup_sql
from billing.domain.day_figures import DayFigures
from billing.models import Account

_FILTERS = (("group", "deal_group"), ("education_direction", "education_direction"), ("manager_id", "manager_id"))


def analytics_rollup_enabled() -> bool:
    """The rollup's triggers are PostgreSQL's; on SQLite (`make run`) analytics counts the lines."""
    return connection.vendor == "postgresql" and getattr(settings, "PAYPLAN_ANALYTICS_ROLLUP", True)


def analytics_days(*, account: Account, flt) -> list[DayFigures]:
    """Every day with a line due or a payment received, oldest first, filtered as `flt` (an AnalyticsFilter)
    filters; its date range is left to the caller (each figure has its own)."""
    where, params = ["direction = %(direction)s"], {"account": account.pk, "direction": flt.direction}
    for name, column in _FILTERS:
        value = getattr(flt, name)
        if value:  # as the selectors: an empty filter is no filter
            where.append(f"{column} = %({name})s")
            params[name] = value
    with connection.cursor() as cursor:
        cursor.execute(rollup_sql.DAYS.format(where=" AND ".join(where)), params)
        return [DayFigures(day, due_amount, due_count, open_amount, open_count, received_amount, received_count)
                for day, due_amount, due_count, open_amount, open_count, received_amount, received_count
                in cursor.fetchall()]
