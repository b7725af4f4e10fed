"""Pay notifications per second end to end (gunicorn, PostgreSQL) against a bare Django view, same run.

Usage: .venv/bin/python bench/webhooks.py [--notifications 2000] [--workers 4] [--threads 8] [--port 8765]
Prints the ratio and how many payments were lost or doubled. Traffic goes to 127.0.0.1 only.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
PORT = 8765  # gunicorn's loopback port unless --port says otherwise


def prepare_database(deals: int, lines: int) -> list[tuple[str, str, str]]:
    """A fresh bench database with `deals` × `lines` issued invoices; returns (number, lead, amount)."""
    from bench.database import fresh_database

    fresh_database()
    from datetime import date

    from billing.domain.schedule import PlanRequest
    from billing.models import Installment, Invoice
    from billing.services import ScheduleOptions, account_create, deal_get_or_create, schedule_replace
    from billing.services.invoicing import invoice_reserve

    account = account_create(crm_account_id=1, slug="bench", cloudpayments_public_id="pk_bench",
                             cloudpayments_api_secret="bench-secret", cloudpayments_test_mode=True)
    account.webhook_key = "bench"
    account.save()
    for lead_id in range(1, deals + 1):
        deal = deal_get_or_create(account=account, external_id=lead_id)
        schedule_replace(deal=deal, plan_request=PlanRequest(plan="equal", total=1000 * lines,
                                                             installments_count=lines,
                                                             first_due_date=date(2026, 12, 1)),
                         options=ScheduleOptions(), request_data={}, created_by=None, today=date(2026, 11, 24))
    for line in Installment.objects.all().order_by("pk"):
        invoice_reserve(installment_id=line.pk)
    Invoice.objects.update(status="issued")
    return [(inv.number, str(inv.deal.external_id), str(inv.amount))
            for inv in Invoice.objects.select_related("deal").order_by("pk")]


def signed_pay(secret: str, number: str, lead: str, amount: str, transaction_id: int) -> tuple[bytes, dict]:
    from billing.gateway.signature import sign

    body = urlencode({"TransactionId": str(transaction_id), "Amount": amount, "Currency": "RUB",
                      "DateTime": "2026-11-24 10:00:00", "Status": "Completed", "InvoiceId": number,
                      "AccountId": lead, "TestMode": "1", "CardLastFour": "4242"}).encode()
    return body, {"Content-Type": "application/x-www-form-urlencoded", "Content-HMAC": sign(secret, body)}


def start_gunicorn(workers: int, port: int = PORT) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers",
         str(workers), "--log-level", "warning"], cwd=ROOT, env=env)
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def main() -> None:
    from bench.loadgen import post_all

    parser = argparse.ArgumentParser()
    parser.add_argument("--notifications", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--port", type=int, default=PORT, help="gunicorn's loopback port")
    args = parser.parse_args()
    lines = 10
    invoices = prepare_database(deals=max(1, args.notifications // lines), lines=lines)[: args.notifications]
    pays = [signed_pay("bench-secret", number, lead, amount, 500000 + index)
            for index, (number, lead, amount) in enumerate(invoices)]
    server = start_gunicorn(args.workers, args.port)
    base_url = f"http://127.0.0.1:{args.port}"
    try:
        bare = post_all(base_url, [("/bench/bare/bench/pay", body, headers)
                                                     for body, headers in pays], threads=args.threads)
        store = post_all(base_url, [("/bench/store/bench/pay", body, headers)
                                                      for body, headers in pays], threads=args.threads)
        real = post_all(base_url, [("/webhooks/cloudpayments/bench/pay", body, headers)
                                                     for body, headers in pays], threads=args.threads)
    finally:
        server.terminate()
        server.wait(timeout=10)
    from billing.models import Payment

    sent = {500000 + index for index in range(len(pays))}
    recorded = list(Payment.objects.filter(transaction_id__isnull=False).values_list("transaction_id", flat=True))
    lost = len(sent - {int(txn) for txn in recorded})
    doubled = len(recorded) - len(set(recorded))
    refused = sum(1 for status, body in real.answers if status != 200 or json.loads(body) != {"code": 0})
    print(f"notifications: {len(pays)}, gunicorn workers: {args.workers}, client threads: {args.threads}")
    print(f"bare Django view:      {bare.per_second:8.1f} req/s")
    print(f"store-only view:       {store.per_second:8.1f} req/s  (account lookup + one INSERT, the floor)")
    print(f"Pay webhook (end2end): {real.per_second:8.1f} req/s")
    print(f"ratio: {real.per_second / bare.per_second:.2f}x (goal >= 0.5x)")
    print(f"lost: {lost}, doubled: {doubled}, non-zero answers: {refused}")


if __name__ == "__main__":
    main()
