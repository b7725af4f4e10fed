"""CRM outbox throughput against the loopback amoCRM sandbox: achieved calls/s per account vs the 7 rps limit.

Usage: .venv/bin/python bench/crm_outbox.py [--actions 2000] [--accounts 5] [--workers 8] [--batch-size 1]
Five accounts are installed through the OAuth code exchange, each gets its share of the actions (notes
and field updates on 40 leads), and `--workers` threads drain them at once, as Celery workers would,
sharing each account's Redis token bucket. `--batch-size 1` (the default) sends one action per call so the
limiter, not batching, sets the pace. Prints, per account: calls, achieved calls/s, the busiest sliding
second, and the 429 / 403 answers the sandbox gave. Traffic stays on 127.0.0.1; bounded by --timeout.
"""
import argparse
import os
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/payplan_bench_crm")
LIMIT_RPS = 7
LEADS_PER_ACCOUNT = 40
FIRST_ACCOUNT_ID = 41000001


def prepare_database() -> None:
    from bench.database import fresh_database

    fresh_database()


def start_sandbox(accounts: int):
    from crm.amocrm.oauth import redirect_uri
    from sandboxes.amocrm import CrmSandbox
    from sandboxes.amocrm.seed import demo_account

    seeded = []
    for index in range(accounts):
        account = demo_account()  # the demo's users, pipelines and lead fields, under another id
        account.id, account.subdomain, account.leads = FIRST_ACCOUNT_ID + index, f"bench{index}", {}
        for offset in range(LEADS_PER_ACCOUNT):
            account.add_lead(f"Bench lead {offset}", lead_id=(index + 1) * 1_000_000 + offset)
        seeded.append(account)
    from django.conf import settings

    return CrmSandbox(settings.AMOCRM_CLIENT_ID, settings.AMOCRM_CLIENT_SECRET, redirect_uri(), accounts=seeded,
                      rate_limit_rps=LIMIT_RPS, block_after=20).start()


def install_and_queue(sandbox, actions: int) -> list:
    """Install every sandbox account through the code exchange and write its share of the actions."""
    from billing.models import Deal
    from billing.services.accounts import account_settings_update
    from crm.amocrm.install import crm_install
    from crm.amocrm.oauth import state_make
    from crm.models import CrmAction

    fields = {"total": 512341, "received": 512342, "debt": 512343}
    installed = []
    share = actions // len(sandbox.accounts)
    for crm_account in sandbox.accounts.values():
        account = crm_install(code=sandbox.issue_code(crm_account.id), referer=sandbox.host, state=state_make(),
                              from_widget=True)
        account = account_settings_update(account=account, settings={"custom_fields": fields})
        deals = [Deal.objects.create(account=account, external_id=lead_id) for lead_id in sorted(crm_account.leads)]
        rows = []
        for number in range(share):
            deal = deals[number % len(deals)]
            if number % 2:
                rows.append(CrmAction(account=account, deal=deal, external_id=deal.external_id, kind="update_fields",
                                      payload={"fields": {"received": f"{number}.00", "debt": "0.00"}}))
            else:
                rows.append(CrmAction(account=account, deal=deal, external_id=deal.external_id, kind="add_note",
                                      payload={"text": f"bench note {number}"}))
        CrmAction.objects.bulk_create(rows)
        installed.append(account)
    return installed


def drain_all(accounts: list, workers: int, batch_size: int, timeout: float) -> float:
    """`workers` threads, each taking the next account that still has work, like Celery workers would."""
    from django.db import connection

    from crm.drain import outbox_drain_account
    from crm.models import CrmAction

    deadline = time.monotonic() + timeout
    turn = iter(range(10**9))
    lock = threading.Lock()

    def work():
        try:
            while time.monotonic() < deadline:
                open_accounts = sorted(set(CrmAction.objects.filter(state__in=["pending", "sending"])
                                           .values_list("account_id", flat=True)))
                if not open_accounts:
                    return
                with lock:
                    account_id = open_accounts[next(turn) % len(open_accounts)]
                if not outbox_drain_account(account_id=account_id, budget_seconds=5, batch_size=batch_size).rounds:
                    time.sleep(0.05)
        finally:
            connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout + 30)
    return time.monotonic() - started


def busiest_second(moments: list[float]) -> int:
    moments = sorted(moments)
    busiest, start = 0, 0
    for end, moment in enumerate(moments):
        while moment - moments[start] >= 1.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    return busiest


def report(sandbox, accounts: list, elapsed: float, args) -> None:
    from crm.models import CrmAction

    by_account: dict[int, list] = defaultdict(list)
    grants = sandbox.oauth.access_tokens
    for entry in sandbox.journal:
        if entry.path.startswith("/api/v4/") and entry.token in grants:
            by_account[grants[entry.token].account_id].append(entry)
    print(f"actions: {args.actions} over {len(accounts)} accounts, workers: {args.workers}, "
          f"batch size: {args.batch_size}, our pace: {args.rps} rps, amoCRM limit: {LIMIT_RPS} rps")
    print(f"{'account':>10} {'actions':>8} {'calls':>6} {'calls/s':>8} {'of limit':>9} {'busiest 1s':>11} "
          f"{'429':>5} {'403':>5}")
    total_429 = total_403 = 0
    for account in accounts:
        entries = sorted(by_account[account.crm_account_id], key=lambda entry: entry.time)
        span = entries[-1].time - entries[0].time if len(entries) > 1 else 0.0
        rate = (len(entries) - 1) / span if span else 0.0
        limited = sum(1 for entry in entries if entry.status == 429)
        blocked = sum(1 for entry in entries if entry.status == 403)
        total_429, total_403 = total_429 + limited, total_403 + blocked
        done = CrmAction.objects.filter(account=account, state="done").count()
        print(f"{account.crm_account_id:>10} {done:>8} {len(entries):>6} {rate:>8.2f} {rate / LIMIT_RPS:>8.1%} "
              f"{busiest_second([entry.time for entry in entries]):>11} {limited:>5} {blocked:>5}")
    states = {state: CrmAction.objects.filter(state=state).count() for state in ("done", "pending", "sending", "dead")}
    notes = sum(len(account.notes) for account in sandbox.accounts.values())
    print(f"elapsed: {elapsed:.1f}s; actions {states}; notes in the sandbox: {notes} "
          f"(expected {sum(1 for _ in CrmAction.objects.filter(kind='add_note'))}); "
          f"429 total: {total_429}, 403 total: {total_403}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--actions", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=5)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--rps", type=float, default=None, help="our pace (default: AMOCRM_RATE_LIMIT_RPS)")
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args()
    prepare_database()
    from django.conf import settings

    settings.AMOCRM_REDIS_PREFIX = f"payplan-bench:{uuid.uuid4().hex}"
    settings.PAYPLAN_DEMO = True  # the sandbox's loopback referer is accepted in demo mode only
    settings.AMOCRM_ALLOW_LOOPBACK = True
    if args.rps:
        settings.AMOCRM_RATE_LIMIT_RPS = args.rps
    args.rps = settings.AMOCRM_RATE_LIMIT_RPS
    sandbox = start_sandbox(args.accounts)
    try:
        accounts = install_and_queue(sandbox, args.actions)
        sandbox.reset()  # count only the drain's calls
        elapsed = drain_all(accounts, args.workers, args.batch_size, args.timeout)
        report(sandbox, accounts, elapsed, args)
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
