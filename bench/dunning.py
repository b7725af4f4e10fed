"""One dunning tick over many open lines across many accounts: queries per line, peak memory, throughput.

Loads `--lines` unpaid lines (5 per deal) over `--accounts` accounts into a fresh PostgreSQL database with
bulk_create, due dates spread over the 60 days before the tick, then times:
  1. the first tick (every line is new: overdue fact, the latest due step, events and CRM rows);
  2. a second tick the next day (steady state: finished ladders are skipped by the ladder-done flag).
Queries are counted with connection.execute_wrapper, memory with tracemalloc (peak), per account too,
so "flat" means the peak does not grow with the number of accounts run.

    .venv/bin/python bench/dunning.py                  # 100 000 lines, 200 accounts
    .venv/bin/python bench/dunning.py --lines 10000 --accounts 20
"""
import argparse
import os
import sys
import time
import tracemalloc
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/payplan_bench_dunning")

TICK_DAY = date(2026, 12, 5)
LINES_PER_DEAL = 5


def load(accounts: int, lines: int) -> None:
    from billing.models import Account, Deal, Installment, Schedule

    deals_per_account = max(lines // (accounts * LINES_PER_DEAL), 1)
    Account.objects.bulk_create([Account(amocrm_account_id=50_000_000 + n, subdomain=f"bench{n}",
                                         host=f"bench{n}.amocrm.ru", name=f"Bench {n}", time_zone="Europe/Moscow",
                                         webhook_key=f"bench-key-{n}") for n in range(accounts)], batch_size=1000)
    account_ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    amount = Decimal("10000.00")
    for index, account_id in enumerate(account_ids):
        deals = Deal.objects.bulk_create([
            Deal(account_id=account_id, lead_id=1_000_000 + n, name=f"Deal {n}", contact_name=f"Клиент {n}",
                 contact_email=f"c{n}@example.test", contact_phone="+79120000000", responsible_user_id=501,
                 total=amount * LINES_PER_DEAL, debt=amount * LINES_PER_DEAL)
            for n in range(deals_per_account)])
        schedules = Schedule.objects.bulk_create([
            Schedule(deal=deal, version=1, is_active=True, plan="custom", total=amount * LINES_PER_DEAL,
                     debt=amount * LINES_PER_DEAL) for deal in deals])
        Installment.objects.bulk_create([
            Installment(schedule=schedule, seq=seq + 1, kind="regular", amount=amount,
                        due_date=TICK_DAY - timedelta(days=(deal_n * 7 + seq * 13) % 60))
            for deal_n, schedule in enumerate(schedules) for seq in range(LINES_PER_DEAL)], batch_size=5000)
        if index % 20 == 0:
            print(f"  loaded {index + 1}/{len(account_ids)} accounts", flush=True)


def tick(day: date) -> dict:
    from django.db import connection

    from billing.dunning.services import dunning_account_plan
    from billing.models import Account

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    per_account_peaks = []
    totals = {"lines": 0, "overdue": 0, "planned": 0, "skipped": 0, "done": 0}
    tracemalloc.start()
    started = time.perf_counter()
    with connection.execute_wrapper(count):
        for account in Account.objects.order_by("pk"):
            tracemalloc.reset_peak()
            now = datetime.combine(day, datetime.min.time().replace(hour=18, minute=30),
                                   tzinfo=ZoneInfo(account.time_zone))
            report = dunning_account_plan(account=account, now=now)
            for key in totals:
                totals[key] += getattr(report, key)
            per_account_peaks.append(tracemalloc.get_traced_memory()[1])
    elapsed = time.perf_counter() - started
    tracemalloc.stop()
    lines = max(totals["lines"], 1)
    half = len(per_account_peaks) // 2
    return {**totals, "seconds": round(elapsed, 1), "lines_per_second": round(totals["lines"] / elapsed, 1),
            "queries": queries, "queries_per_line": round(queries / lines, 2),
            "peak_mib_first_half": round(max(per_account_peaks[:half] or [0]) / 2**20, 2),
            "peak_mib_second_half": round(max(per_account_peaks[half:] or [0]) / 2**20, 2)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=200)
    options = parser.parse_args()
    from bench.database import fresh_database

    fresh_database()
    started = time.perf_counter()
    load(options.accounts, options.lines)
    print(f"loaded {options.lines} lines over {options.accounts} accounts in {time.perf_counter() - started:.1f} s")
    first = tick(TICK_DAY)
    print("first tick (every line new):", first, flush=True)
    second = tick(TICK_DAY + timedelta(days=1))
    print("next day (steady state):", second, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
