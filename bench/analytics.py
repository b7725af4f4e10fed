"""Analytics at scale: the summary selector against hand-written SQL computing the same figures, same run.

Loads one account with `--deals` deals of 5 lines each (the lines and the payments with COPY, deals and
schedules with bulk_create), due dates spread over the 180 days before and after today, about 60 % of the
lines with money on them (some partly), then measures, interleaved, `--runs` times each:
  1. ours: `billing.selectors.analytics.analytics_summary` (received, upcoming, overdue, aging, by day);
  2. the baseline: the same figures by hand-written SQL (four statements, no ORM), checked equal to ours;
  3. a deep keyset page of the `received`, `upcoming` and `overdue` rows: ours (what GET /analytics/rows?cursor=
     calls: `analytics_rows_page`, the rows made and the next cursor) against the page by hand, every column the
     rows show, checked equal row by row; and the old page=N (OFFSET) at the same depth.
Reports the median wall ms, p50 < 300 ms is the goal for the summary, the ratio ours / SQL (goal ≤ 2×) and this
process' CPU ms per call (time.process_time: Python's share; the database's shows only in the wall time).

    .venv/bin/python bench/analytics.py                                  # small default (make bench)
    .venv/bin/python bench/analytics.py --deals 200000 --runs 7          # 1 000 000 lines, 600 000 payments
"""
import argparse
import os
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/payplan_bench_analytics")

LINES_PER_DEAL = 5
AMOUNT = Decimal("10000.00")


def load(deals: int, today: date) -> int:
    from django.db import connection
    from django.utils import timezone

    from bench.database import copy_rows
    from billing.models import Account, Deal, Installment, Payment, Schedule

    account = Account.objects.create(crm_account_id=60_000_000, slug="benchanalytics",
                                     host="benchanalytics.amocrm.ru", name="Bench", time_zone="Europe/Moscow",
                                     webhook_key="bench-analytics")
    deal_rows = Deal.objects.bulk_create([
        Deal(account=account, external_id=2_000_000 + n, name=f"Deal {n}", contact_name=f"Клиент {n}",
             responsible_user_id=500 + n % 20, group=f"G{n % 50}", total=AMOUNT * LINES_PER_DEAL)
        for n in range(deals)], batch_size=5000)
    schedules = Schedule.objects.bulk_create([
        Schedule(deal=deal, version=1, is_active=True, plan="custom", total=AMOUNT * LINES_PER_DEAL,
                 debt=AMOUNT * LINES_PER_DEAL) for deal in deal_rows], batch_size=5000)

    def lines():
        for index, schedule in enumerate(schedules):
            for seq in range(LINES_PER_DEAL):
                due = today + timedelta(days=(index * 7 + seq * 31) % 361 - 180)
                paid = AMOUNT if (index + seq) % 5 < 2 else (AMOUNT / 2 if (index + seq) % 5 == 2 else Decimal(0))
                yield Installment(schedule_id=schedule.pk, seq=seq + 1, kind="regular", label="", due_date=due,
                                  amount=AMOUNT, paid=paid)

    copy_rows(Installment, lines())
    now = timezone.now()

    def payments():  # three a deal: 600 000 for 1 000 000 lines
        for index, deal in enumerate(deal_rows):
            for n in range(3):
                yield Payment(account=account, deal=deal, amount=Decimal("5000.00") + n, method="cash",
                              paid_at=today - timedelta(days=(index * 3 + n * 17) % 360), correction_reason="",
                              card_token="", comment="", recorded_at=now, receipt_status="", receipt_id="",
                              receipt_error="")

    copy_rows(Payment, payments())
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")  # as autovacuum leaves a live database: hint bits, visibility map
    return account.pk


def hand_summary(account_id: int, today: date, month: tuple[date, date]) -> dict:
    """The summary's figures, by hand: what the database must do at the least."""
    from django.db import connection

    buckets = (("due_next_7_days", -7, -1), ("overdue_1_30", 1, 30), ("overdue_31_90", 31, 90),
               ("overdue_91_180", 91, 180), ("overdue_over_180", 181, None))
    filters = ["i.due_date >= %(today)s", "i.due_date < %(today)s"]
    for _name, low, high in buckets:
        condition = f"i.due_date <= %(today)s::date - {low}"
        filters.append(condition + (f" AND i.due_date >= %(today)s::date - {high}" if high is not None else ""))
    figures = ", ".join(f"coalesce(sum(i.amount - i.paid) FILTER (WHERE {condition}), 0), "
                        f"count(*) FILTER (WHERE {condition})" for condition in filters)
    plan_lines = ("FROM billing_installment i JOIN billing_schedule s ON s.id = i.schedule_id AND s.is_active "
                  "AND s.direction = 'incoming' JOIN billing_deal d ON d.id = s.deal_id AND d.account_id = %(account)s "
                  "AND d.cancelled_at IS NULL")
    payments = ("FROM billing_payment p JOIN billing_deal d ON d.id = p.deal_id AND d.cancelled_at IS NULL "
                "AND d.direction = 'incoming' WHERE p.account_id = %(account)s AND p.method <> 'opening_balance'")
    params = {"account": account_id, "today": today, "start": month[0], "end": month[1]}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(sum(p.amount), 0), count(*) {payments}", params)
        received = cursor.fetchone()
        cursor.execute(f"SELECT {figures} {plan_lines} WHERE i.paid < i.amount", params)
        lines = cursor.fetchone()
        cursor.execute(f"SELECT p.paid_at, sum(p.amount) {payments} AND p.paid_at BETWEEN %(start)s AND %(end)s "
                       "GROUP BY 1", params)
        received_by_day = dict(cursor.fetchall())
        cursor.execute(f"SELECT i.due_date, sum(i.amount) {plan_lines} WHERE i.due_date BETWEEN %(start)s AND "
                       "%(end)s GROUP BY 1", params)
        due_by_day = dict(cursor.fetchall())
    names = ["upcoming", "overdue"] + [name for name, _low, _high in buckets]
    return {"received": received, **{name: (lines[2 * n], lines[2 * n + 1]) for n, name in enumerate(names)},
            "by_day": (received_by_day, due_by_day)}


def ours_summary(account) -> dict:
    from billing.selectors.analytics import AnalyticsFilter, analytics_summary

    summary = analytics_summary(account=account, flt=AnalyticsFilter())
    figures = {"received": (summary.received.amount, summary.received.count),
               "upcoming": (summary.upcoming.amount, summary.upcoming.count),
               "overdue": (summary.overdue.amount, summary.overdue.count)}
    figures.update({bucket.bucket: (bucket.amount, bucket.count) for bucket in summary.aging})
    figures["by_day"] = ({row.date: row.received for row in summary.by_day if row.received},
                         {row.date: row.due for row in summary.by_day if row.due})
    return figures


PAGE = 50


def ours_keyset_page(account, kind: str, cursor: str) -> tuple[list, str | None]:
    """What GET /analytics/rows?cursor= calls: the keyset page made rows, and the next page's cursor."""
    from billing.selectors.analytics import AnalyticsFilter
    from billing.selectors.analytics_rows import analytics_rows_page

    return analytics_rows_page(account=account, flt=AnalyticsFilter(), kind=kind, cursor=cursor, size=PAGE)


def ours_offset_page(account, kind: str, offset: int) -> list:
    """The old way (page=N): OFFSET over the model instances, for comparison."""
    from billing.selectors.analytics import AnalyticsFilter, analytics_row, analytics_rows

    today = account_today_of(account)
    return [analytics_row(item, kind, today) for item in
            analytics_rows(account=account, flt=AnalyticsFilter(), kind=kind)[offset:offset + PAGE]]


RECEIVED_FROM = ("FROM billing_payment p JOIN billing_deal d ON d.id = p.deal_id AND d.cancelled_at IS NULL "
                 "AND d.direction = 'incoming' WHERE p.account_id = %(account)s AND p.method <> 'opening_balance'")
OPEN_LINES_FROM = ("FROM billing_installment i JOIN billing_schedule s ON s.id = i.schedule_id AND s.is_active "
                   "AND s.direction = 'incoming' JOIN billing_deal d ON d.id = s.deal_id AND d.account_id = "
                   "%(account)s AND d.cancelled_at IS NULL WHERE i.paid < i.amount")
OVERDUE_FROM = f"{OPEN_LINES_FROM} AND i.due_date < %(today)s"
UPCOMING_FROM = f"{OPEN_LINES_FROM} AND i.due_date >= %(today)s"
LINES_FROM = {"overdue": OVERDUE_FROM, "upcoming": UPCOMING_FROM}
# Every column a row shows (the deal's name, raw: «Сделка №…» for a blank one is Python's, as the lines' lateness).
DEAL_COLUMNS = "d.external_id, d.name, d.contact_name, d.group, d.education_direction, d.direction"


def hand_keyset_page(account_id: int, kind: str, after: tuple, today: date) -> list:
    """The page by hand: every column the rows show, 51 rows (the 51st tells there is a next page)."""
    from django.db import connection

    params = {"account": account_id, "today": today, "limit": PAGE + 1}
    with connection.cursor() as cursor:
        if kind == "received":
            params.update(day=after[0], id=after[1])
            cursor.execute(f"SELECT p.id, p.paid_at, p.amount, p.method, {DEAL_COLUMNS}, d.responsible_user_id "
                           f"{RECEIVED_FROM} AND (p.paid_at, p.id) > (%(day)s, %(id)s) AND p.paid_at >= %(day)s "
                           "ORDER BY p.paid_at, p.id LIMIT %(limit)s", params)
        else:
            params.update(day=after[0], lead=after[1], seq=after[2])
            cursor.execute(f"SELECT i.seq, i.due_date, i.amount, i.paid, {DEAL_COLUMNS}, "
                           f"coalesce(s.manager_id, d.responsible_user_id) {LINES_FROM[kind]} AND "
                           "(i.due_date, d.external_id, i.seq) > (%(day)s, %(lead)s, %(seq)s) "
                           "AND i.due_date >= %(day)s ORDER BY i.due_date, d.external_id, i.seq LIMIT %(limit)s",
                           params)
        return cursor.fetchall()


def keyset_check(kind: str, today: date):
    """Ours (rows and the next cursor) against the hand SQL's tuples: the same rows, field by field."""
    from billing.selectors.analytics_rows import analytics_rows_from_values, analytics_values_cursor

    def check(ours: tuple[list, str | None], hand: list) -> None:
        rows, next_cursor = ours
        assert len(hand) == PAGE + 1, len(hand)
        assert rows == list(analytics_rows_from_values(hand[:PAGE], kind, today)), kind
        assert next_cursor == analytics_values_cursor(kind=kind, values=hand[PAGE - 1])
        received = kind == "received"
        for row, values in zip(rows, hand, strict=False):  # the hand columns, as a person reads the row
            day, amount, lead, name = values[1], values[2], values[4], values[5]
            assert (row.date, row.amount, row.external_id) == (day, amount, lead)
            assert row.deal_name == name.strip()
            assert row.remaining == (0 if received else amount - values[3])
            assert row.days_overdue == (0 if received else max((today - day).days, 0))

    return check


def deep_anchor(account_id: int, kind: str, today: date) -> tuple[tuple, int]:
    """The keyset of the row 100 rows before the end (a deep page), and its offset."""
    from django.db import connection

    params = {"account": account_id, "today": today}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) {RECEIVED_FROM if kind == 'received' else LINES_FROM[kind]}", params)
        offset = max(cursor.fetchone()[0] - 100, 1)
        params["offset"] = offset - 1
        if kind == "received":
            cursor.execute(f"SELECT p.paid_at, p.id {RECEIVED_FROM} ORDER BY p.paid_at, p.id OFFSET %(offset)s "
                           "LIMIT 1", params)
        else:
            cursor.execute(f"SELECT i.due_date, d.external_id, i.seq {LINES_FROM[kind]} "
                           "ORDER BY i.due_date, d.external_id, i.seq OFFSET %(offset)s LIMIT 1", params)
        return tuple(cursor.fetchone()), offset


def ours_aging(account) -> dict:
    from billing.selectors.analytics import AnalyticsFilter, open_line_totals

    upcoming, overdue, aging = open_line_totals(account=account, flt=AnalyticsFilter(),
                                                today=account_today_of(account))
    return {"upcoming": (upcoming.amount, upcoming.count), "overdue": (overdue.amount, overdue.count),
            **{bucket.bucket: (bucket.amount, bucket.count) for bucket in aging}}


def ours_worklist(account) -> tuple[int, list]:
    """What GET /analytics/debtors-today does for its first page: the count and the page's rows."""
    from billing.dunning.worklist import debtors_count, debtors_page
    from billing.selectors.analytics import AnalyticsFilter

    today, flt = account_today_of(account), AnalyticsFilter()
    count = debtors_count(account=account, flt=flt, today=today)
    rows = debtors_page(account=account, flt=flt, today=today, start=0, size=PAGE)
    return count, [(row.due_date, row.external_id, row.seq, row.remaining, row.paused_until,
                              row.last_contact_at) for row in rows]


def hand_worklist(account_id: int, today: date) -> tuple[int, list]:
    from django.db import connection

    from billing.dunning.models import DunningLine, StepRun

    lines, runs = DunningLine._meta.db_table, StepRun._meta.db_table
    params = {"account": account_id, "today": today, "limit": PAGE, "late": today - timedelta(days=1)}
    base = OVERDUE_FROM.replace("i.due_date < %(today)s", "i.due_date <= %(late)s")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) {base}", params)
        count = cursor.fetchone()[0]
        joins = (f" LEFT JOIN LATERAL (SELECT paused_until FROM {lines} x WHERE x.deal_id = d.id AND x.seq = i.seq "
                 "AND x.due_date = i.due_date LIMIT 1) l ON true LEFT JOIN LATERAL (SELECT finished_at FROM "
                 f"{runs} y WHERE y.deal_id = d.id AND y.status = %(sent)s ORDER BY y.finished_at DESC, y.id DESC "
                 "LIMIT 1) r ON true WHERE ")
        cursor.execute(f"SELECT i.due_date, d.external_id, i.seq, i.amount - i.paid, l.paused_until, r.finished_at "
                       f"{base.replace(' WHERE ', joins, 1)} ORDER BY i.due_date, d.external_id, i.seq LIMIT %(limit)s",
                       {**params, "sent": StepRun.Status.SENT})
        return count, [tuple(row) for row in cursor.fetchall()]


def _peak_rss_mb() -> float:
    """This process' peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the forking parent)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def export_peak(account_id: int, rows: int, traced: bool) -> None:
    """Child process: GET /analytics/export.xlsx?kind=received (capped at `rows`) through the real view and
    read the streamed body; print wall ms, CPU ms, bytes and the process' peak RSS (with --tracemalloc also the
    Python heap's peak, at about 3× the time)."""
    import tracemalloc

    import django

    django.setup()
    from rest_framework.test import APIClient

    from billing.models import Account
    from widget_api.api import analytics as api
    from widget_api.tokens import token_mint

    api.EXPORT_ROW_LIMIT = rows
    account = Account.objects.get(pk=account_id)
    token = token_mint(account_id=account.crm_account_id, subdomain=account.slug, user_id=1)
    rss_before = _peak_rss_mb()
    if traced:
        tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    response = APIClient().get("/api/v1/analytics/export.xlsx", {"kind": "received", "lang": "ru"},
                               HTTP_X_AUTH_TOKEN=token, HTTP_HOST="127.0.0.1")
    assert response.status_code == 200, response
    assert response.streaming
    size = sum(len(chunk) for chunk in response.streaming_content)
    from billing.selectors.analytics import AnalyticsFilter, analytics_rows

    exported = analytics_rows(account=account, flt=AnalyticsFilter(), kind="received")[:rows].count()
    wall, cpu = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
    heap = f", Python heap peak {tracemalloc.get_traced_memory()[1] / 2**20:.1f} MB (tracemalloc)" if traced else ""
    rss = _peak_rss_mb()
    print(f"export   {exported} rows streamed: {wall:8.1f} ms (CPU {cpu:7.1f} ms, {cpu / exported:.2f} ms a row), "
          f"{size / 1e6:.1f} MB xlsx{heap}, process peak RSS {rss:.0f} MB (after start-up {rss_before:.0f} MB); "
          "goal < 256 MB", flush=True)
    assert rss < 256, rss


def rollup_fold_report() -> None:
    """Fold what the load marked (every deal, after COPY): the analytics rollup's first build."""
    from billing.models import AnalyticsStaleDeal
    from billing.services.analytics_rollup import analytics_rollup_fold

    stale = AnalyticsStaleDeal.objects.values("deal_id").distinct().count()
    wall, cpu = time.perf_counter(), time.process_time()
    report = analytics_rollup_fold()
    wall, cpu = time.perf_counter() - wall, (time.process_time() - cpu) * 1000
    per_deal = f", {wall * 1000 / report.deals:.2f} ms a deal" if report.deals else ""
    print(f"rollup: {report.deals} deals folded of {stale} marked, {report.batches} batches, {wall:.1f} s wall, "
          f"{cpu:.0f} ms CPU{per_deal}", flush=True)
    from django.db import connection

    with connection.cursor() as cursor:  # what autovacuum does after the first build (the tables' settings)
        for table in ("billing_analyticsdaytotal", "billing_analyticsdealday", "billing_analyticsstaledeal"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


class unfolded:
    """Mark `count` deals changed (as payments since the last fold would), fold them back afterwards."""

    def __init__(self, account_id: int, count: int) -> None:
        self.account_id, self.count = account_id, count

    def __enter__(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO billing_analyticsstaledeal (deal_id, account_id) SELECT id, account_id "
                           "FROM billing_deal WHERE account_id = %s ORDER BY random() LIMIT %s",
                           [self.account_id, self.count])

    def __exit__(self, *exc) -> None:
        from billing.services.analytics_rollup import analytics_rollup_fold

        analytics_rollup_fold()


def account_today_of(account) -> date:
    from billing.time import account_today

    return account_today(account)


def timed(func, runs: int) -> tuple[float, float, object]:
    walls, cpus, result = [], [], None
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = func()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus), result


def compare(name: str, ours, hand, runs: int, *, check=None) -> dict:
    """Interleaved runs (load changes hit both alike) after one warm-up each; the figures must be equal."""
    ours(), hand()
    mine, theirs = [], []
    for _ in range(runs):
        mine.append(timed(ours, 1))
        theirs.append(timed(hand, 1))
    if check:
        check(mine[-1][2], theirs[-1][2])
    else:
        assert mine[-1][2] == theirs[-1][2], (name, mine[-1][2], theirs[-1][2])
    row = {"name": name, "ours": statistics.median(run[0] for run in mine),
           "ours_cpu": statistics.median(run[1] for run in mine),
           "sql": statistics.median(run[0] for run in theirs), "sql_cpu": statistics.median(run[1] for run in theirs)}
    row["ratio"] = row["ours"] / row["sql"]
    print(f"{name:34} ours {row['ours']:8.1f} ms (CPU {row['ours_cpu']:6.1f})   hand SQL {row['sql']:8.1f} ms "
          f"(CPU {row['sql_cpu']:6.1f})   ratio {row['ratio']:.2f}x; same figures", flush=True)
    return row


def _check_summary(ours: dict, hand: dict) -> None:
    for key in ("upcoming", "overdue", "due_next_7_days", "overdue_1_30", "overdue_31_90", "overdue_91_180",
                "overdue_over_180", "received"):
        assert tuple(ours[key]) == tuple(hand[key]), (key, ours[key], hand[key])
    assert ours["by_day"] == hand["by_day"]


SCALES = {"small": 4000, "full": 200_000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=sorted(SCALES), default="small",
                        help="small: 4 000 deals (make bench); full: 200 000 deals, 1 000 000 lines, 600 000 payments")
    parser.add_argument("--deals", type=int, help="5 lines and 3 payments each (overrides --scale)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--export-rows", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true", help="keep the database a previous run loaded")
    parser.add_argument("--unfolded", type=int,
                        help="deals marked changed for the second summary (what readers recount live; default "
                             "0.5 %% of the deals: 1 000 at full scale)")
    parser.add_argument("--tracemalloc", action="store_true", help="also the export's Python heap peak (slow)")
    parser.add_argument("--export-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        export_peak(args.export_child, args.export_rows, args.tracemalloc)
        return
    deals = args.deals or SCALES[args.scale]
    from bench.database import fresh_database

    started = time.perf_counter()
    if args.reuse:
        import django

        django.setup()
        from billing.models import Account

        account = Account.objects.get(slug="benchanalytics")
        deals = account.deals.count()  # what the loaded database holds, whatever --scale says
    else:
        fresh_database()
        from billing.models import Account

        account = Account.objects.get(pk=load(deals, date.today()))
    account_id = account.pk
    today = account_today_of(account)
    from billing.models import Installment, Payment

    print(f"{Installment.objects.count()} lines, {Payment.objects.count()} payments, {deals} deals ready in "
          f"{time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.1f}", flush=True)
    rollup_fold_report()
    args.unfolded = args.unfolded if args.unfolded is not None else max(1, deals // 200)
    month = (today.replace(day=1), (today.replace(day=1) + timedelta(days=31)).replace(day=1) - timedelta(days=1))
    results = [compare("summary", lambda: ours_summary(account), lambda: hand_summary(account_id, today, month),
                       args.runs, check=_check_summary)]
    with unfolded(account_id, args.unfolded):
        results.append(compare(f"summary, {args.unfolded} deals changed since the last fold",
                               lambda: ours_summary(account), lambda: hand_summary(account_id, today, month),
                               args.runs, check=_check_summary))

    def hand_aging():
        figures = hand_summary(account_id, today, month)
        return {key: value for key, value in figures.items() if key not in ("received", "by_day")}

    results.append(compare("aging (open lines, every bucket)", lambda: ours_aging(account), hand_aging_only(
        account_id, today), args.runs))
    assert ours_aging(account) == hand_aging()
    from billing.selectors.analytics import _cursor_encode

    for kind in ("received", "upcoming", "overdue"):
        anchor, offset = deep_anchor(account_id, kind, today)
        cursor = _cursor_encode(kind, (anchor[0].isoformat(), *anchor[1:]))
        results.append(compare(f"rows {kind}, keyset page at row {offset}",
                               lambda kind=kind, cursor=cursor: ours_keyset_page(account, kind, cursor),
                               lambda kind=kind, anchor=anchor: hand_keyset_page(account_id, kind, anchor, today),
                               args.runs, check=keyset_check(kind, today)))
        old = timed(lambda kind=kind, offset=offset: ours_offset_page(account, kind, offset), 3)
        assert old[2] == ours_keyset_page(account, kind, cursor)[0]
        print(f"{'':34} (the old page=N, OFFSET {offset}: {old[0]:8.1f} ms, same rows)", flush=True)
    results.append(compare("worklist «Должники сегодня» page 1", lambda: ours_worklist(account),
                           lambda: hand_worklist(account_id, today), args.runs))
    asked_figures(account, args.runs)
    import subprocess

    subprocess.run([sys.executable, __file__, "--export-child", str(account_id), "--export-rows",
                    str(args.export_rows), *(["--tracemalloc"] if args.tracemalloc else [])], check=True)
    print("\n| figure | ours p50 ms | ours CPU ms | hand SQL p50 ms | ratio |\n|---|---|---|---|---|")
    for row in results:
        print(f"| {row['name']} | {row['ours']:.1f} | {row['ours_cpu']:.1f} | {row['sql']:.1f} | "
              f"{row['ratio']:.2f}× |")
    worst = max(row["ratio"] for row in results)
    slowest = max(row["ours"] for row in results)
    print(f"worst ratio {worst:.2f}x (goal <= 2x), slowest p50 {slowest:.1f} ms (goal < 300 ms); load average "
          f"{os.getloadavg()[0]:.1f}; {datetime.now(ZoneInfo('UTC')):%Y-%m-%d %H:%M} UTC")


def asked_figures(account, runs: int) -> None:
    """The figures users asked for, through their selectors (no baseline: what one request costs)."""
    from billing.models import Deal
    from billing.selectors.analytics import AnalyticsFilter
    from billing.selectors.analytics_figures import cash_in_forecast, collection_rate, plan_progress

    flt = AnalyticsFilter()
    deep = Deal.objects.filter(account=account).order_by("-external_id").values_list("external_id", flat=True)[100]
    for name, func in (("cash-in forecast (12 weeks, 6 months)", lambda: cash_in_forecast(account=account, flt=flt)),
                       ("collection rate per manager (90 days)", lambda: collection_rate(account=account, flt=flt)),
                       ("plan progress, the page 100 deals from the end", lambda: plan_progress(
                           account=account, flt=flt, after_external_id=deep, limit=51))):
        func()
        wall, cpu, _result = timed(func, runs)
        print(f"{name:38} ours {wall:8.1f} ms (CPU {cpu:6.1f})", flush=True)


def hand_aging_only(account_id: int, today: date):
    """The open lines' figures alone, by hand: one statement."""
    from django.db import connection

    buckets = (("due_next_7_days", -7, -1), ("overdue_1_30", 1, 30), ("overdue_31_90", 31, 90),
               ("overdue_91_180", 91, 180), ("overdue_over_180", 181, None))
    filters = ["i.due_date >= %(today)s", "i.due_date < %(today)s"]
    for _name, low, high in buckets:
        condition = f"i.due_date <= %(today)s::date - {low}"
        filters.append(condition + (f" AND i.due_date >= %(today)s::date - {high}" if high is not None else ""))
    figures = ", ".join(f"coalesce(sum(i.amount - i.paid) FILTER (WHERE {condition}), 0), "
                        f"count(*) FILTER (WHERE {condition})" for condition in filters)
    names = ["upcoming", "overdue"] + [name for name, _low, _high in buckets]

    def run():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {figures} FROM billing_installment i JOIN billing_schedule s ON s.id = "
                           "i.schedule_id AND s.is_active AND s.direction = 'incoming' JOIN billing_deal d ON d.id = "
                           "s.deal_id AND d.account_id = %(account)s AND d.cancelled_at IS NULL WHERE i.paid < "
                           "i.amount", {"account": account_id, "today": today})
            lines = cursor.fetchone()
        return {name: (lines[2 * n], lines[2 * n + 1]) for n, name in enumerate(names)}

    return run


if __name__ == "__main__":
    main()
