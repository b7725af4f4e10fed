"""The analytics rollup's upkeep [I]: fold stale deals into the day totals, rebuild from scratch.

The triggers (billing/rollup_sql.py) mark deals stale as they change; folding is only for speed — a reader
recounts stale deals live — so a fold that runs late, twice or concurrently changes no figure. One fold at a
time (an advisory lock; a second one returns at once); each batch is one transaction that deletes the marks
it read, recounts those deals and applies the difference, so a crash loses nothing (the marks stay)."""
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from billing import rollup_sql
from billing.selectors.analytics_days import analytics_rollup_enabled

FOLD_LOCK = 0x7061_7970_6C61_6E01  # pg advisory lock key: "payplan" + 1


@dataclass(frozen=True)
class FoldReport:
    deals: int
    batches: int
    busy: bool = False


def _fold_batch(batch_deals: int) -> int | None:
    """One transaction: take up to `batch_deals` stale deals, recount them, apply the difference. None when
    another fold holds the lock."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [FOLD_LOCK])
        if not cursor.fetchone()[0]:
            return None
        cursor.execute("SELECT DISTINCT deal_id FROM billing_analyticsstaledeal ORDER BY deal_id LIMIT %s",
                       [batch_deals])
        deals = [deal_id for (deal_id,) in cursor.fetchall()]
        if not deals:
            return 0
        # Every mark of these deals visible now goes; a mark committed after this statement stays for the
        # next fold (the recount below may or may not see its change: counting again is harmless).
        cursor.execute("DELETE FROM billing_analyticsstaledeal WHERE deal_id = ANY(%s)", [deals])
        cursor.execute(rollup_sql.FOLD, {"deals": deals})
        return len(deals)


def analytics_rollup_fold(*, batch_deals: int | None = None, max_batches: int | None = None) -> FoldReport:
    """Fold stale deals, `batch_deals` a transaction, until none is left (or `max_batches` ran)."""
    if not analytics_rollup_enabled():
        return FoldReport(deals=0, batches=0)
    batch_deals = batch_deals or settings.PAYPLAN_ANALYTICS_FOLD_BATCH
    folded = batches = 0
    while max_batches is None or batches < max_batches:
        done = _fold_batch(batch_deals)
        if done is None:
            return FoldReport(deals=folded, batches=batches, busy=True)
        if not done:
            break
        folded, batches = folded + done, batches + 1
    return FoldReport(deals=folded, batches=batches)


def analytics_rollup_rebuild(*, account_id: int | None = None) -> FoldReport:
    """Throw the rollup away (one account's, or all) and count it again: the repair if it is ever doubted
    (`payplan_analytics_rebuild`). Readers stay exact throughout: every deal is stale until folded."""
    if not analytics_rollup_enabled():
        return FoldReport(deals=0, batches=0)
    where, params = ("WHERE account_id = %s", [account_id]) if account_id is not None else ("", [])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FOLD_LOCK])  # no fold between the steps
        for table in ("billing_analyticsdaytotal", "billing_analyticsdealday", "billing_analyticsstaledeal"):
            cursor.execute(f"DELETE FROM {table} {where}", params)  # noqa: S608 (fixed table names)
        cursor.execute(f"{rollup_sql.MARK_ALL} {where}", params)
    return analytics_rollup_fold()


def analytics_rollup_check(*, account_id: int) -> list[dict]:
    """The slices and days where the account's kept figures differ from a recount of every deal (none, unless
    something wrote around the triggers): what `payplan_analytics_rollup --check` reports and monitoring
    alerts on. A full recount: minutes at a million lines, for the operator, not for requests."""
    if not analytics_rollup_enabled():
        return []
    with connection.cursor() as cursor:
        cursor.execute(rollup_sql.CHECK, {"account": account_id})
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
