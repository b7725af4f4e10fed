"""One dunning tick over many open lines across many accounts: queries per line, memory, CPU, throughput.

Loads `--lines` unpaid lines (5 per deal) over `--accounts` accounts into a fresh PostgreSQL database (deals
and schedules with bulk_create, the lines with COPY), due dates spread over the 60 days before the tick,
then measures:
  1. the first tick (every line is new: overdue fact, the latest due step, the skipped earlier ones, events
     with their relay deliveries), one account after another at 18:30 local;
  2. the baseline of the same run: Django `bulk_create` of exactly the rows that tick wrote (overdue facts,
     step rows, events, deliveries), per account, in transactions rolled back — the store-only floor of any
     tick that records what it does;
  3. a second tick the next day (steady state: finished ladders are skipped by the ladder-done flag).
Queries are counted with connection.execute_wrapper; CPU is this process's (time.process_time), so the
database's own work shows only in the wall time; memory is the process' peak RSS after the first tenth of
the accounts and after all of them (flat: equal), or with --tracemalloc the traced peak per account (slow).

    .venv/bin/python bench/dunning.py --lines 100000 --accounts 200   # the full run
    .venv/bin/python bench/dunning.py                                 # the small default (make bench)
"""
import argparse
import os
import resource
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
    from bench.database import copy_rows
    from billing.models import Account, Deal, Installment, Schedule

    deals_per_account = max(lines // (accounts * LINES_PER_DEAL), 1)
    Account.objects.bulk_create([Account(crm_account_id=50_000_000 + n, slug=f"bench{n}",
                                         host=f"bench{n}.amocrm.ru", name=f"Bench {n}", time_zone="Europe/Moscow",
                                         webhook_key=f"bench-key-{n}") for n in range(accounts)], batch_size=1000)
    account_ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    amount = Decimal("10000.00")
    deals = Deal.objects.bulk_create([
        Deal(account_id=account_id, external_id=1_000_000 + n, name=f"Deal {n}", contact_name=f"Клиент {n}",
             contact_email=f"c{n}@example.test", contact_phone="+79120000000", responsible_user_id=501,
             total=amount * LINES_PER_DEAL, debt=amount * LINES_PER_DEAL)
        for account_id in account_ids for n in range(deals_per_account)], batch_size=5000)
    schedules = Schedule.objects.bulk_create([
        Schedule(deal=deal, version=1, is_active=True, plan="custom", total=amount * LINES_PER_DEAL,
                 debt=amount * LINES_PER_DEAL) for deal in deals], batch_size=5000)

    def installments():
        for index, schedule in enumerate(schedules):
            deal_n = index % deals_per_account
            for seq in range(LINES_PER_DEAL):
                due = TICK_DAY - timedelta(days=(deal_n * 7 + seq * 13) % 60)
                yield Installment(schedule_id=schedule.pk, seq=seq + 1, kind="regular", label="", due_date=due,
                                  amount=amount, paid=Decimal(0))

    copy_rows(Installment, installments())


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tick(day: date, *, trace: bool = False) -> dict:
    from django.db import connection

    from billing.dunning.services import dunning_account_plan
    from billing.models import Account

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    accounts = list(Account.objects.order_by("pk"))
    tenth = max(len(accounts) // 10, 1)
    peaks, rss_after_tenth = [], 0.0
    totals = {"lines": 0, "overdue": 0, "planned": 0, "skipped": 0, "done": 0}
    if trace:
        tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(count):
        for index, account in enumerate(accounts):
            if trace:
                tracemalloc.reset_peak()
            now = datetime.combine(day, datetime.min.time().replace(hour=18, minute=30),
                                   tzinfo=ZoneInfo(account.time_zone))
            report = dunning_account_plan(account=account, now=now)
            for key in totals:
                totals[key] += getattr(report, key)
            if trace:
                peaks.append(tracemalloc.get_traced_memory()[1])
            if index + 1 == tenth:
                rss_after_tenth = _max_rss_mib()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if trace:
        tracemalloc.stop()
    lines = max(totals["lines"], 1)
    result = {**totals, "seconds": round(elapsed, 1), "lines_per_second": round(totals["lines"] / elapsed, 1),
              "cpu_ms_per_line": round(cpu * 1000 / lines, 3), "queries": queries,
              "queries_per_line": round(queries / lines, 3),
              "max_rss_mib_after_first_tenth": round(rss_after_tenth, 1),
              "max_rss_mib_at_end": round(_max_rss_mib(), 1)}
    if trace:
        half = len(peaks) // 2
        result |= {"traced_peak_mib_first_half": round(max(peaks[:half] or [0]) / 2**20, 2),
                   "traced_peak_mib_second_half": round(max(peaks[half:] or [0]) / 2**20, 2)}
    return result


def store_only_floor() -> dict:
    """Django bulk_create of exactly the rows the first tick wrote, per account, rolled back: the floor."""
    from django.db import transaction

    from billing.dunning.models import OverdueFact, StepRun
    from billing.models import Account, DomainEvent, EventDelivery

    elapsed = cpu = 0.0
    written = 0
    for account in Account.objects.order_by("pk"):
        facts = list(OverdueFact.objects.filter(account=account))
        steps = list(StepRun.objects.filter(account=account))
        events = list(DomainEvent.objects.filter(account=account))
        deliveries = list(EventDelivery.objects.filter(event__account=account))
        old_event_ids = [event.pk for event in events]
        for row in [*facts, *steps, *events, *deliveries]:
            row.pk = None
        with transaction.atomic():
            EventDelivery.objects.filter(event__account=account).delete()
            DomainEvent.objects.filter(account=account).delete()
            StepRun.objects.filter(account=account).delete()
            OverdueFact.objects.filter(account=account).delete()
            started, cpu_started = time.perf_counter(), time.process_time()
            OverdueFact.objects.bulk_create(facts, batch_size=500)
            StepRun.objects.bulk_create(steps, batch_size=500)
            created = DomainEvent.objects.bulk_create(events, batch_size=500)
            by_old = dict(zip(old_event_ids, created, strict=True))
            for delivery in deliveries:
                delivery.event = by_old[delivery.event_id]
            EventDelivery.objects.bulk_create(deliveries, batch_size=500)
            elapsed += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
            transaction.set_rollback(True)
        written += len(facts) + len(steps) + len(events) + len(deliveries)
    return {"rows": written, "seconds": round(elapsed, 1), "cpu_ms_total": round(cpu * 1000)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=2_000)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--tracemalloc", action="store_true", help="traced peak per account (slows the tick)")
    options = parser.parse_args()
    from bench.database import fresh_database

    fresh_database()
    started = time.perf_counter()
    load(options.accounts, options.lines)
    print(f"loaded {options.lines} lines over {options.accounts} accounts in {time.perf_counter() - started:.1f} s",
          flush=True)
    first = tick(TICK_DAY, trace=options.tracemalloc)
    print("first tick (every line new):", first, flush=True)
    floor = store_only_floor()
    print("store-only floor (bulk_create of the same rows, rolled back):", floor, flush=True)
    lines = max(first["lines"], 1)
    print(f"first tick / floor: wall {first['seconds'] / max(floor['seconds'], 0.001):.2f}x, "
          f"CPU {first['cpu_ms_per_line'] * lines / max(floor['cpu_ms_total'], 1):.2f}x; "
          f"floor CPU {floor['cpu_ms_total'] / lines:.3f} ms per line", flush=True)
    second = tick(TICK_DAY + timedelta(days=1), trace=options.tracemalloc)
    print("next day (steady state):", second, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
