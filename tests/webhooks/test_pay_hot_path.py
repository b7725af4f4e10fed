"""The Pay hot path at scale [I]: a constant number of statements per notification, however long the plan
and however many payments came before (no N+1), and every read and write of it served by an index
(EXPLAIN on PostgreSQL with sequential scans priced out: a plan that still scans has no index to use)."""
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.domain.schedule import PlanRequest
from billing.models import Deal, GatewayEvent, Invoice, Payment
from billing.services import ScheduleOptions, deal_get_or_create, schedule_replace
from billing.services.invoicing import invoice_reserve
from tests.webhooks.conftest import pay_fields

pytestmark = pytest.mark.django_db

# The data statements of one Pay (savepoints and their releases left out), billing/services/pay_hot_path.py:
# the view's account, the event (INSERT … ON CONFLICT DO NOTHING), the invoice with its deal locked, the
# plan's lines locked with the idempotency, later-payment, sum, live-invoice and card reads in the same row,
# the payment, and one statement of CTEs for the rest. 29 before [I], then 21; the goal was 12.
MAX_DATA_STATEMENTS = 6


def _issued(deal: Deal, seq: int) -> Invoice:
    invoice = invoice_reserve(installment_id=deal.schedules.get(is_active=True).installments.get(seq=seq).pk).invoice
    Invoice.objects.filter(pk=invoice.pk).update(status="issued")
    return Invoice.objects.select_related("deal").get(pk=invoice.pk)


def _planned(account, lead_id: int, lines: int) -> Deal:
    deal = deal_get_or_create(account=account, external_id=lead_id)
    schedule_replace(deal=deal, plan_request=PlanRequest(plan="equal", total=1000 * lines, installments_count=lines,
                                                         first_due_date=date(2026, 12, 1)),
                     options=ScheduleOptions(), request_data={}, created_by=1, today=date(2026, 11, 24))
    return deal


def _data(queries) -> list[str]:
    return [query["sql"] for query in queries
            if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))]


def _pay(notifier, invoice: Invoice, transaction_id: int) -> CaptureQueriesContext:
    with CaptureQueriesContext(connection) as captured:
        response = notifier.post("pay", pay_fields(invoice, transaction_id=transaction_id, amount=str(invoice.amount),
                                                   Token=f"tk_{invoice.deal.external_id}"))
    assert response.status_code == 200
    assert response.json() == {"code": 0}
    return captured


def _pay_after(notifier, account, *, lead_id: int, lines: int, earlier: int) -> CaptureQueriesContext:
    """Pay line `earlier + 1` of a `lines`-line plan whose first `earlier` lines were paid by Pay before."""
    deal = _planned(account, lead_id, lines)
    for seq in range(1, earlier + 1):
        _pay(notifier, _issued(deal, seq), transaction_id=lead_id * 1000 + seq)
    return _pay(notifier, _issued(deal, earlier + 1), transaction_id=lead_id * 1000 + earlier + 1)


def test_a_pay_runs_the_same_statements_for_a_short_plan_and_a_long_paid_down_one(notifier, account):
    short = _pay_after(notifier, account, lead_id=7001, lines=3, earlier=0)
    long = _pay_after(notifier, account, lead_id=7002, lines=36, earlier=12)
    assert len(_data(long.captured_queries)) == len(_data(short.captured_queries))
    assert len(long.captured_queries) == len(short.captured_queries)  # savepoints included
    assert len(_data(long.captured_queries)) <= MAX_DATA_STATEMENTS
    assert Payment.objects.filter(deal__external_id=7002).count() == 13
    assert Deal.objects.get(external_id=7002).paid == 13000


def test_a_replayed_pay_is_cheaper_than_the_first_and_records_nothing(notifier, account):
    deal = _planned(account, 7003, 4)
    invoice = _issued(deal, 1)
    first = _pay(notifier, invoice, transaction_id=9001)
    again = _pay(notifier, invoice, transaction_id=9001)
    assert len(_data(again.captured_queries)) < len(_data(first.captured_queries))
    assert Payment.objects.filter(transaction_id="9001").count() == 1
    assert GatewayEvent.objects.get(transaction_id="9001").replays == 1


def _scans_without_index(statements: list[str]) -> list[str]:
    """The statements whose plan still reads a whole table when sequential scans cost a fortune."""
    scanned = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in statements:
            if not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
                continue
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            if "Seq Scan" in plan:
                scanned.append(f"{sql[:160]}\n{plan}")
        cursor.execute("SET LOCAL enable_seqscan = on")
    return scanned


def _pay_statements(notifier, account) -> list[str]:
    deal = _planned(account, 7004, 6)
    _pay(notifier, _issued(deal, 1), transaction_id=9101)
    return _data(_pay(notifier, _issued(deal, 2), transaction_id=9102).captured_queries)


def test_every_read_and_update_of_a_pay_is_served_by_an_index(notifier, account):
    statements = _pay_statements(notifier, account)
    assert _scans_without_index(statements) == []


def test_the_index_check_sees_a_missing_index(notifier, account):
    # The guard above, shown to bite: without the index on a payment's deal, the payments' sum under the
    # deal lock scans.
    statements = _pay_statements(notifier, account)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks block the DROP
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'billing_payment' "
                       "AND indexdef LIKE '%(deal_id)'")
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
    scanned = _scans_without_index(statements)
    assert any("Seq Scan on billing_payment" in entry for entry in scanned)
