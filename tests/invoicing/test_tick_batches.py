"""The tick at scale [I]: due lines in chunks (statements per chunk independent of its size), one relay
nudge and one CRM drain per account, twice is once, and a worker killed between the gateway's answer and
the commit leaves one order and one invoice after the restart."""
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.gateway.errors import GatewayUnavailable
from billing.models import Invoice
from billing.services.billing_run import billing_run
from billing.services.invoice_batches import invoices_issue_due
from billing.services.relay import events_relay_run
from sandboxes.cloudpayments import SandboxServer
from tests.invoicing.conftest import make_plan

DUE = date(2026, 12, 5)


def plans(account, count: int, first_lead: int) -> None:
    for lead_id in range(first_lead, first_lead + count):
        make_plan(account, lead_id=lead_id, count=1, total=1000)


@pytest.mark.django_db
def test_the_statements_of_a_chunk_do_not_grow_with_its_size(account, other_account, gateway, settings):
    settings.PAYPLAN_TICK_CHUNK_LINES = 100
    plans(account, 5, 8000)
    plans(other_account, 50, 9000)
    with CaptureQueriesContext(connection) as five:
        assert len(invoices_issue_due(account=account, today=DUE).issued) == 5
    with CaptureQueriesContext(connection) as fifty:
        assert len(invoices_issue_due(account=other_account, today=DUE).issued) == 50
    assert len(five) == len(fifty), [query["sql"][:120] for query in fifty]
    assert len(gateway.calls) == 55


@pytest.mark.django_db
def test_chunks_walk_every_due_line_once_and_a_second_tick_does_nothing(account, gateway, settings):
    settings.PAYPLAN_TICK_CHUNK_LINES = 2
    plans(account, 7, 8000)
    gateway.fail_next = [GatewayUnavailable("down")]  # one row stays `creating`, the next tick finishes it
    first = billing_run(today=DUE)
    assert (len(first.issued), first.pending) == (6, 1)
    second = billing_run(today=DUE)
    assert (len(second.issued), second.pending) == (1, 0)  # the retried one
    assert Invoice.objects.filter(status="issued").count() == 7
    assert len(gateway.orders) == 7
    assert len(gateway.calls) == 8  # the retry reused its request id
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == list(range(1, 8))  # gapless
    calls = len(gateway.calls)
    assert billing_run(today=DUE).issued == []
    assert len(gateway.calls) == calls


@pytest.mark.django_db(transaction=True)
def test_one_relay_nudge_and_one_crm_drain_per_account(account, other_account, gateway, settings, monkeypatch):
    settings.PAYPLAN_TICK_CHUNK_LINES = 2
    nudges, drains = [], []
    monkeypatch.setattr("billing.events._relay_nudge_now", nudges.append)
    monkeypatch.setattr("crm.outbox._drain_enqueue_now", drains.append)
    plans(account, 5, 8000)
    plans(other_account, 3, 9000)
    nudges.clear()
    billing_run(today=DUE)
    assert len(nudges) == 2  # one per account, each naming the events of all its chunks
    assert sorted(len(ids) for scopes in nudges for ids in scopes) == [1, 1, 2, 2, 2]  # one scope per chunk
    drains.clear()
    events_relay_run(handler="widget_api.crm_feed")
    assert sorted(drains) == sorted([account.pk, other_account.pk])


@pytest.fixture
def sandbox(account):
    server = SandboxServer({account.cloudpayments_public_id: (account.cloudpayments_api_secret,
                                                              account.webhook_key)}).start()
    yield server
    server.stop()


def _child_env() -> dict:
    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{host}:{port}/{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.test"}


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_between_the_gateway_answer_and_the_commit_makes_one_order(account, sandbox, settings):
    settings.CLOUDPAYMENTS_API_URL = sandbox.url + "/"
    plans(account, 3, 8000)
    child = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("tick_child.py")), sandbox.url, DUE.isoformat()],
        env=_child_env(), capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    assert "answered 3" in child.stdout
    # Killed after the gateway made the orders: the rows kept their numbers, `creating`, nothing recorded.
    assert sorted(Invoice.objects.values_list("status", "number")) == [
        ("creating", "2026-000001"), ("creating", "2026-000002"), ("creating", "2026-000003")]
    assert len(sandbox.ledger.orders) == 3

    report = billing_run(today=DUE)  # the restarted worker
    assert sorted(report.issued) == ["2026-000001", "2026-000002", "2026-000003"]
    assert len(sandbox.ledger.orders) == 3  # the same X-Request-IDs: the gateway gave its orders back
    assert {invoice.gateway_order_id for invoice in Invoice.objects.all()} == set(sandbox.ledger.orders)
    assert Invoice.objects.count() == 3
    assert billing_run(today=DUE).issued == []
    assert len(sandbox.ledger.orders) == 3
