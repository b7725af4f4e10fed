"""Analytics at scale: the summary selector against hand-written SQL computing the same figures, same run.

Loads one account with `--deals` deals of 5 lines each (the lines and the payments with COPY, deals and
schedules with bulk_create), due dates spread over the 180 days before and after today, about 60 % of the
lines with money on them (some partly), then measures, interleaved, `--runs` times each:
  1. ours: `billing.selectors.analytics.analytics_summary` (received, upcoming, overdue, aging, by day);
  2. the baseline: the same figures by hand-written SQL (four statements, no ORM), checked equal to ours;
  3. a deep page of the `received` rows: ours (the queryset the API pages, sliced at OFFSET) against a
     keyset page on (paid_at, id) by hand.
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


def _copy(model, objects) -> None:
    """COPY model instances into their table (every concrete field but the id, as Django would store it)."""
    from django.db import connection

    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    with connection.cursor() as cursor, cursor.connection.cursor().copy(
            f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
        for obj in objects:
            copy.write_row([field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields])


def load(deals: int, today: date) -> int:
    from django.db import connection
    from django.utils import timezone

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

    _copy(Installment, lines())
    now = timezone.now()

    def payments():  # three a deal: 600 000 for 1 000 000 lines
        for index, deal in enumerate(deal_rows):
            for n in range(3):
                yield Payment(account=account, deal=deal, amount=Decimal("5000.00") + n, method="cash",
                              paid_at=today - timedelta(days=(index * 3 + n * 17) % 360), correction_reason="",
                              card_token="", comment="", recorded_at=now, receipt_status="", receipt_id="",
                              receipt_error="")

    _copy(Payment, payments())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
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


def ours_deep_page(account, offset: int) -> list:
    from billing.selectors.analytics import AnalyticsFilter, analytics_rows

    return [row.pk for row in analytics_rows(account=account, flt=AnalyticsFilter(), kind="received")
            [offset:offset + 50]]


def keyset_page(account_id: int, after: tuple[date, int]) -> list:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT p.id FROM billing_payment p JOIN billing_deal d ON d.id = p.deal_id "
                       "AND d.cancelled_at IS NULL AND d.direction = 'incoming' WHERE p.account_id = %s "
                       "AND p.method <> 'opening_balance' AND (p.paid_at, p.id) > (%s, %s) "
                       "ORDER BY p.paid_at, p.id LIMIT 50", [account_id, *after])
        return [row[0] for row in cursor.fetchall()]


def timed(func, runs: int) -> tuple[float, float, object]:
    walls, cpus, result = [], [], None
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = func()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deals", type=int, default=4000, help="5 lines and 3 payments each")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from bench.database import fresh_database

    fresh_database()
    from billing.models import Account, Payment
    from billing.time import account_today

    started = time.perf_counter()
    account_id = load(args.deals, date.today())
    account = Account.objects.get(pk=account_id)
    today = account_today(account)
    print(f"loaded {args.deals} deals, {args.deals * LINES_PER_DEAL} lines, {args.deals * 3} payments "
          f"in {time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.1f}")
    month = (today.replace(day=1), (today.replace(day=1) + timedelta(days=31)).replace(day=1) - timedelta(days=1))
    ours_summary(account), hand_summary(account_id, today, month)  # warm both
    results = {"ours": [], "sql": []}
    for _ in range(args.runs):  # interleaved, so load changes hit both alike
        results["ours"].append(timed(lambda: ours_summary(account), 1))
        results["sql"].append(timed(lambda: hand_summary(account_id, today, month), 1))
    ours, hand = results["ours"][-1][2], results["sql"][-1][2]
    for key in ("upcoming", "overdue", "due_next_7_days", "overdue_1_30", "overdue_31_90", "overdue_91_180",
                "overdue_over_180", "received"):
        assert tuple(ours[key]) == tuple(hand[key]), (key, ours[key], hand[key])
    assert ours["by_day"] == hand["by_day"]
    ours_ms = statistics.median(run[0] for run in results["ours"])
    sql_ms = statistics.median(run[0] for run in results["sql"])
    ours_cpu = statistics.median(run[1] for run in results["ours"])
    sql_cpu = statistics.median(run[1] for run in results["sql"])
    print(f"summary  ours {ours_ms:8.1f} ms (CPU {ours_cpu:6.1f} ms)   hand SQL {sql_ms:8.1f} ms "
          f"(CPU {sql_cpu:6.1f} ms)   ratio {ours_ms / sql_ms:.2f}x (goal <= 2x, p50 < 300 ms); figures equal")
    offset = max(Payment.objects.filter(account_id=account_id).count() - 100, 0)
    ordered = Payment.objects.filter(account_id=account_id).order_by("paid_at", "pk")
    anchor = ordered.values_list("paid_at", "pk")[offset - 1] if offset else (date(1900, 1, 1), 0)
    deep_ms, deep_cpu, deep = timed(lambda: ours_deep_page(account, offset), args.runs)
    keyset_ms, keyset_cpu, keyset = timed(lambda: keyset_page(account_id, anchor), args.runs)
    assert deep == keyset, "the keyset page must be the same rows"
    print(f"rows page at offset {offset}: ours (OFFSET) {deep_ms:8.1f} ms (CPU {deep_cpu:5.1f} ms)   keyset "
          f"{keyset_ms:8.1f} ms (CPU {keyset_cpu:5.1f} ms)   ratio {deep_ms / keyset_ms:.2f}x")
    print(f"load average at the end {os.getloadavg()[0]:.1f}; {datetime.now(ZoneInfo('UTC')):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
