"""The billing tick at 100 000 due lines [I]: invoices per second, statements, transactions and CPU per invoice,
memory, against the per-invoice path it replaced, measured in the same run.

Loads `--accounts` accounts (CloudPayments keys), `--deals` deals and `--lines` unpaid lines all due by the
tick day into a fresh PostgreSQL database (deals and schedules with bulk_create, the lines with COPY), plus
one baseline account with `--baseline-lines` lines of the same shape. The CloudPayments sandbox runs in its
own process on loopback (port `--port`, in this bench's range), so its CPU is not ours. Then:
  1. baseline: the per-invoice path the tick used before (`installments_due_for_invoice`, then
     `invoice_issue` for each line: its own reserve and record transactions, one gateway call at a time);
  2. the tick: `billing_run` over the accounts (chunks of PAYPLAN_TICK_CHUNK_LINES lines: reserve, the gateway
     calls from PAYPLAN_TICK_GATEWAY_THREADS threads, record).
Statements are counted with connection.execute_wrapper, transactions as commits of the connection; CPU is
this process's (time.process_time: the database and the sandbox are other processes). Relay nudges (the
event relay's task; each relay run asks for at most one CRM drain per account) are counted, not queued.
Memory: peak RSS after the baseline, after the tick's first account and at the end (flat: the last two equal);
with --tracemalloc the traced peak of the baseline and of each tick account (slower).

    .venv/bin/python bench/tick.py                     # the full run: 20 accounts, 10 000 deals, 100 000 lines
    .venv/bin/python bench/tick.py --lines 4000 --deals 400 --baseline-lines 400    # quick (make bench)
"""
import argparse
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/payplan_bench_tick")

TICK_DAY = date(2026, 12, 5)
BASELINE_KEY = "bench-tick-baseline"


def load(accounts: int, deals: int, lines: int, baseline_lines: int) -> None:
    from django.db import connection

    from bench.database import copy_rows
    from billing.models import Account, Deal, Installment, Schedule

    created = [Account(crm_account_id=60_000_000 + n, slug=f"tick{n}", host=f"tick{n}.amocrm.ru",
                       name=f"Tick {n}", time_zone="Europe/Moscow", webhook_key=f"bench-tick-{n}",
                       cloudpayments_public_id=f"pk_tick_{n}", cloudpayments_api_secret=f"secret-{n}")
               for n in range(accounts)]
    lines_per_deal = max(lines // deals, 1)
    baseline_deals = max(baseline_lines // lines_per_deal, 1)
    created.append(Account(crm_account_id=69_999_999, slug="tickbase", host="tickbase.amocrm.ru",
                           name="Baseline", time_zone="Europe/Moscow", webhook_key=BASELINE_KEY,
                           cloudpayments_public_id="pk_tick_base", cloudpayments_api_secret="secret-base"))
    Account.objects.bulk_create(created)
    plan = []
    for account in Account.objects.order_by("pk"):
        count = baseline_deals if account.webhook_key == BASELINE_KEY else deals // accounts
        plan += [(account.pk, count)]
    amount = Decimal("5000.00")
    deal_rows = Deal.objects.bulk_create([
        Deal(account_id=account_id, external_id=2_000_000 + n, name=f"Deal {n}", contact_name=f"Клиент {n}",
             contact_email=f"c{n}@example.test", responsible_user_id=501,
             total=amount * lines_per_deal, debt=amount * lines_per_deal)
        for account_id, count in plan for n in range(count)], batch_size=5000)
    schedules = Schedule.objects.bulk_create([
        Schedule(deal=deal, version=1, is_active=True, plan="custom", total=amount * lines_per_deal,
                 debt=amount * lines_per_deal) for deal in deal_rows], batch_size=5000)

    def installments():
        for index, schedule in enumerate(schedules):
            for seq in range(lines_per_deal):  # monthly lines, the last one due on the tick day
                due = TICK_DAY - timedelta(days=30 * (lines_per_deal - 1 - seq) + index % 7)
                yield Installment(schedule_id=schedule.pk, seq=seq + 1, kind="regular", label="", due_date=due,
                                  amount=amount, paid=Decimal(0))

    copy_rows(Installment, installments())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum does after a load; without it the planner guesses 1 row


def sandbox_start(port: int) -> subprocess.Popen:
    from billing.models import Account

    accounts = [f"--account={a.cloudpayments_public_id}:{a.cloudpayments_api_secret}:{a.webhook_key}"
                for a in Account.objects.order_by("pk")]
    process = subprocess.Popen([sys.executable, "-m", "sandboxes.cloudpayments", "--port", str(port), *accounts],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    if "sandbox on" not in line:
        process.kill()
        raise RuntimeError(f"the sandbox did not start: {line!r}")
    return process


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Counters:
    """Statements (execute_wrapper), commits (the connection's) and relay nudges (not queued)."""

    def __init__(self) -> None:
        from django.db import connection

        self.statements = self.commits = self.nudges = 0
        self._connection = connection
        self._commit = connection.commit

    def _count(self, execute, sql, params, many, context):
        self.statements += 1
        return execute(sql, params, many, context)

    def _counted_commit(self) -> None:
        self.commits += 1
        self._commit()

    def __enter__(self) -> "Counters":
        import billing.events

        self._wrapper = self._connection.execute_wrapper(self._count)
        self._wrapper.__enter__()
        self._connection.commit = self._counted_commit
        self._nudge = billing.events._relay_nudge_now
        billing.events._relay_nudge_now = lambda scopes: setattr(self, "nudges", self.nudges + 1)
        return self

    def __exit__(self, *exc) -> None:
        import billing.events

        billing.events._relay_nudge_now = self._nudge
        del self._connection.commit
        self._wrapper.__exit__(*exc)


def _figures(invoices: int, counters: Counters, seconds: float, cpu: float) -> dict:
    n = max(invoices, 1)
    return {"invoices": invoices, "seconds": round(seconds, 2), "invoices_per_s": round(invoices / seconds, 1),
            "statements_per_invoice": round(counters.statements / n, 3),
            "transactions_per_invoice": round(counters.commits / n, 3), "relay_nudges": counters.nudges,
            "cpu_ms_per_invoice": round(cpu * 1000 / n, 3)}


def baseline(trace: bool) -> dict:
    """The per-invoice path the tick used before, on the baseline account."""
    from billing.errors import ApplicationError
    from billing.events import effects_coalesced
    from billing.models import Account, Invoice
    from billing.services.invoicing import installments_due_for_invoice, invoice_issue

    account = Account.objects.get(webhook_key=BASELINE_KEY)
    if trace:
        tracemalloc.reset_peak()
    issued = 0
    with Counters() as counters:
        started, cpu_started = time.perf_counter(), time.process_time()
        with effects_coalesced():  # count the nudges the old loop asked for, as the tick's are counted
            for installment_id in installments_due_for_invoice(account=account, today=TICK_DAY):
                try:
                    result = invoice_issue(installment_id=installment_id, today=TICK_DAY)
                except ApplicationError:
                    continue
                issued += result.invoice.status == Invoice.Status.ISSUED
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    figures = _figures(issued, counters, seconds, cpu)
    # Before, every invoice's commit queued its own relay run (and each of those one CRM drain).
    figures["relay_nudges_before_coalescing"] = issued
    figures["max_rss_mib"] = round(_rss_mib(), 1)
    if trace:
        figures["traced_peak_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 2)
    Account.objects.filter(pk=account.pk).update(is_active=False)
    return figures


def tick(trace: bool) -> dict:
    from billing.events import effects_coalesced
    from billing.models import Account
    from billing.services.billing_run import BillingRunReport, account_run

    accounts = list(Account.objects.filter(is_active=True).order_by("pk"))
    report = BillingRunReport()
    peaks, rss_first = [], 0.0
    with Counters() as counters:
        started, cpu_started = time.perf_counter(), time.process_time()
        for index, account in enumerate(accounts):  # billing_run's loop, measured account by account
            if trace:
                tracemalloc.reset_peak()
            with effects_coalesced():
                account_run(account=account, today=TICK_DAY, gateway=None, report=report)
            if trace:
                peaks.append(tracemalloc.get_traced_memory()[1])
            if index == 0:
                rss_first = _rss_mib()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    figures = _figures(len(report.issued), counters, seconds, cpu)
    figures |= {"pending": report.pending, "refused": len(report.refused), "accounts": len(accounts),
                "max_rss_mib_after_first_account": round(rss_first, 1), "max_rss_mib_at_end": round(_rss_mib(), 1)}
    if trace:
        figures |= {"traced_peak_mib_first_account": round(peaks[0] / 2**20, 2),
                    "traced_peak_mib_max_account": round(max(peaks) / 2**20, 2)}
    return figures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--baseline-lines", type=int, default=2_000,
                        help="lines through the old per-invoice path (it is slow: ~30 invoices/s)")
    parser.add_argument("--port", type=int, default=8281, help="the sandbox's loopback port")
    parser.add_argument("--tracemalloc", action="store_true", help="traced peaks (slows both contenders)")
    options = parser.parse_args()
    from bench.database import fresh_database

    fresh_database()
    from django.conf import settings

    started = time.perf_counter()
    load(options.accounts, options.deals, options.lines, options.baseline_lines)
    print(f"loaded {options.lines} + {options.baseline_lines} baseline lines, {options.deals} deals, "
          f"{options.accounts} accounts in {time.perf_counter() - started:.1f} s", flush=True)
    sandbox = sandbox_start(options.port)
    settings.CLOUDPAYMENTS_API_URL = f"http://127.0.0.1:{options.port}/"
    settings.CLOUDPAYMENTS_READ_TIMEOUT = 30
    try:
        if options.tracemalloc:
            tracemalloc.start()
        before = baseline(options.tracemalloc)
        print("baseline, the per-invoice path:", before, flush=True)
        after = tick(options.tracemalloc)
        print(f"the tick (chunks of {settings.PAYPLAN_TICK_CHUNK_LINES}, "
              f"{settings.PAYPLAN_TICK_GATEWAY_THREADS} gateway threads):", after, flush=True)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    print(f"tick / baseline: {after['invoices_per_s'] / before['invoices_per_s']:.1f}x invoices/s, "
          f"CPU per invoice {after['cpu_ms_per_invoice'] / before['cpu_ms_per_invoice']:.2f}x, "
          f"statements per invoice {after['statements_per_invoice']} vs {before['statements_per_invoice']}, "
          f"transactions per invoice {after['transactions_per_invoice']} vs {before['transactions_per_invoice']}",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
