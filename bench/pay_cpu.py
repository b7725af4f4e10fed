"""CPU milliseconds and SQL statements per Pay notification, in process, against the bare view and the
store-only floor, same run.

Steadier than requests per second on a shared machine: no HTTP server, no client threads; each call goes
through Django's full request stack (the test client + the URL's view) on PostgreSQL. Interleaves, per
invoice: the bare view (reads the body, answers {"code": 0}), the store-only view (account look-up + one
INSERT of the raw event, bench/urls.py) and the real CloudPayments Pay webhook; reports the median CPU ms
(time.process_time: this process' Python work; the database's own work is not in it) and wall ms per call,
statements per call (data statements; savepoints counted apart), the ratios bare / X and floor / Pay, then
checks that every Pay was recorded once (lost 0, doubled 0). Bounded: `--notifications` calls of each.

    .venv/bin/python bench/pay_cpu.py [--notifications 300]
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/payplan_bench_pay_cpu")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notifications", type=int, default=300)
    parser.add_argument("--without-rollup-triggers", action="store_true",
                        help="drop the analytics rollup's triggers first (what they cost a Pay: run both ways)")
    args = parser.parse_args()
    from bench.webhooks import prepare_database, signed_pay

    lines = 10
    invoices = prepare_database(deals=max(1, args.notifications // lines), lines=lines)[: args.notifications]
    from django.db import connection

    if args.without_rollup_triggers:
        from billing import rollup_sql

        with connection.cursor() as cursor:
            cursor.execute(rollup_sql.DROP_TRIGGERS)
    from django.test import Client

    from billing.models import Payment

    client = Client(HTTP_HOST="127.0.0.1")  # an allowed host of the settings
    statements = savepoints = 0

    def count(execute, sql, params, many, context):
        nonlocal statements, savepoints
        if sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            savepoints += 1
        else:
            statements += 1
        return execute(sql, params, many, context)

    endpoints = (("bare", "/bench/bare/bench/pay"), ("store", "/bench/store/bench/pay"),
                 ("pay", "/webhooks/cloudpayments/bench/pay"))
    samples: dict[str, list[tuple[float, float, int, int]]] = {name: [] for name, _ in endpoints}
    for index, (number, lead, amount) in enumerate(invoices):
        body, headers = signed_pay("bench-secret", number, lead, amount, 700000 + index)
        for name, path in endpoints:
            statements = savepoints = 0
            wall, cpu = time.perf_counter(), time.process_time()
            with connection.execute_wrapper(count):
                response = client.post(path, body, content_type=headers["Content-Type"],
                                       HTTP_CONTENT_HMAC=headers["Content-HMAC"])
            samples[name].append(((time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000,
                                  statements, savepoints))
            assert response.status_code == 200, response.content
            assert response.json() == {"code": 0}, response.content
    warm = max(len(invoices) // 10, 1)  # the first tenth warms caches and connections
    figures = {name: tuple(statistics.median(sample[i] for sample in rows[warm:]) for i in range(4))
               for name, rows in samples.items()}
    recorded = list(Payment.objects.filter(transaction_id__isnull=False).values_list("transaction_id", flat=True))
    lost = len({str(700000 + n) for n in range(len(invoices))} - set(recorded))
    doubled = len(recorded) - len(set(recorded))
    print(f"notifications: {len(invoices)} (medians after the first {warm}); load average {os.getloadavg()[0]:.1f}")
    for name, label in (("bare", "bare view"), ("store", "store-only floor"), ("pay", "Pay webhook")):
        cpu, wall, count_, saves = figures[name]
        print(f"{label:17s} CPU {cpu:6.2f} ms/call   wall {wall:6.2f} ms/call   {count_:3.0f} statements/call"
              f" (+{saves:.0f} savepoints)   bare / this: CPU {figures['bare'][0] / cpu:.2f}x")
    print(f"floor / Pay: CPU {figures['store'][0] / figures['pay'][0]:.2f}x, wall "
          f"{figures['store'][1] / figures['pay'][1]:.2f}x (goal >= 0.5x, <= 12 statements); "
          f"lost {lost}, doubled {doubled}")
    if lost or doubled:
        sys.exit(1)

if __name__ == "__main__":
    main()
