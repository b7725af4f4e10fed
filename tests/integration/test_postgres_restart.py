"""PostgreSQL really restarted during a stream of Pay webhooks [I]: every payment lands once, through
CloudPayments' retries.

The shared PostgreSQL is never touched: the test starts a PostgreSQL of its own (initdb into a temporary
directory, a free loopback port, fsync off), copies the test database into it (`pg_dump | psql`: the account,
its plans and invoices), and serves PayPlan from a separate process (`manage.py runserver`) on it. While a
sender plays CloudPayments (anything but HTTP 200 with {"code": 0} is delivered again, later), the server's
PostgreSQL is stopped twice — once in fast mode, once in immediate mode (a crash: recovery on start) — and
started again a moment later. Afterwards each TransactionId has exactly one payment and one processed event,
every invoice is paid and the deals' money adds up."""
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest
import requests
from django.db import connection

from tests.integration.test_database_loss import DEALS, LINES, _invoices, _signed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
TX = 770000
ROOT = Path(__file__).resolve().parents[2]
DELIVERY_SECONDS = 90  # CloudPayments retries for days; the test stays bounded


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    assert found, f"PostgreSQL's {name} is not installed (make services installs it)"
    return found[-1]


def _as_postgres(command: list[str]) -> list[str]:
    """initdb and pg_ctl refuse to run as root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class OwnPostgres:
    """A throwaway PostgreSQL on 127.0.0.1:<free port>, its data in a temporary directory."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="payplan-pg-", dir="/tmp"))
        self.data, self.port = self.root / "data", _free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        subprocess.run(_as_postgres([_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                                     "-E", "UTF8", "--no-sync", "--locale=C.UTF-8"]),
                       check=True, capture_output=True)
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/payplan"

    def pg_ctl(self, *args: str) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
                   "-c fsync=off -c full_page_writes=off")
        subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-w",
                                     "-l", str(self.root / "log"), *args]), check=True, capture_output=True)

    def start(self) -> None:
        self.pg_ctl("start")

    def stop(self, mode: str) -> None:
        self.pg_ctl("stop", "-m", mode)

    def remove(self) -> None:
        subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), "stop", "-m", "immediate"]),
                       capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def own_postgres():
    server = OwnPostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def _copy_test_database(target: OwnPostgres) -> None:
    """The test database as it is now (migrated, with this test's rows) into the own server's `payplan`."""
    params = connection.get_connection_params()
    source = psycopg.conninfo.make_conninfo(**{key: value for key, value in params.items()
                                               if key in ("dbname", "user", "host", "port", "password")})
    connection.close()
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{target.port}/postgres", autocommit=True) as admin:
        admin.execute("CREATE DATABASE payplan")
    dump = subprocess.Popen([_pg_bin("pg_dump"), "--no-owner", "--no-privileges", source], stdout=subprocess.PIPE)
    subprocess.run([_pg_bin("psql"), "-q", "-v", "ON_ERROR_STOP=1", target.dsn], stdin=dump.stdout, check=True,
                   capture_output=True)
    assert dump.wait() == 0


def _serve(database_url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings.test",
           "DATABASE_CONN_MAX_AGE": "60"}
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return server
        except requests.RequestException:
            time.sleep(0.2)
    os.killpg(server.pid, signal.SIGKILL)
    pytest.fail("the PayPlan server did not start")


def test_every_pay_lands_once_while_postgresql_is_stopped_and_started_twice(account, own_postgres):
    invoices = _invoices(account)
    expected = {invoice.number: str(TX + index) for index, invoice in enumerate(invoices)}
    deliveries = [_signed(account, invoice, TX + index) for index, invoice in enumerate(invoices)]
    _copy_test_database(own_postgres)
    web_port = _free_port()
    server = _serve(own_postgres.dsn, web_port)
    url = f"http://127.0.0.1:{web_port}/webhooks/cloudpayments/{account.webhook_key}/pay"
    landed, failed_deliveries, restarts = [], [0], []

    def restarter():
        for mode, after in (("fast", len(invoices) // 3), ("immediate", 2 * len(invoices) // 3)):
            while len(landed) < after:
                time.sleep(0.01)
            own_postgres.stop(mode)
            time.sleep(1.0)  # down: new connections are refused meanwhile
            own_postgres.start()
            restarts.append(mode)

    thread = threading.Thread(target=restarter)
    thread.start()
    try:
        for body, headers in deliveries:
            deadline = time.monotonic() + DELIVERY_SECONDS
            while True:
                try:
                    answer = requests.post(url, data=body, headers=headers, timeout=30)
                    if answer.status_code == 200 and answer.json() == {"code": 0}:
                        break
                except requests.RequestException:
                    pass
                failed_deliveries[0] += 1
                assert time.monotonic() < deadline, "a Pay never landed"
                time.sleep(0.1)
            landed.append(body)
    finally:
        landed.extend([b""] * len(invoices))  # let the restarter finish if the stream broke off
        thread.join(60)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)

    assert restarts == ["fast", "immediate"]
    assert failed_deliveries[0] > 0  # the restarts were felt by the sender
    with psycopg.connect(own_postgres.dsn) as own:
        payments = own.execute("SELECT transaction_id FROM billing_payment").fetchall()
        assert sorted(tx for (tx,) in payments) == sorted(expected.values())  # none lost, none doubled
        events = own.execute("SELECT status, count(*) FROM billing_gatewayevent WHERE kind = 'pay' "
                             "GROUP BY status").fetchall()
        assert events == [("processed", len(invoices))]
        assert own.execute("SELECT DISTINCT status FROM billing_invoice").fetchall() == [("paid",)]
        deals = own.execute("SELECT paid, debt, status FROM billing_deal").fetchall()
        assert len(deals) == DEALS
        assert {(int(paid), int(debt), status) for paid, debt, status in deals} == {(1000 * LINES, 0, "paid")}
