"""The Pay hot path [I] (billing/services/pay_hot_path.py) writes exactly the rows the general path writes:
each scenario is played twice, once on each path (PAYPLAN_PAY_HOT_PATH), on two twin deals, and every row
the Pay touched is compared with the deal's own ids taken out. Off the common road it steps aside."""
import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import events
from billing.domain.schedule import PlanRequest
from billing.models import (
    Allocation,
    Deal,
    DomainEvent,
    EventDelivery,
    GatewayEvent,
    Installment,
    Invoice,
    Payment,
    SavedCard,
)
from billing.services import ScheduleOptions, deal_get_or_create, schedule_replace
from billing.services.invoicing import invoice_reserve
from tests.webhooks.conftest import pay_fields

pytestmark = pytest.mark.django_db


def _deal(account, lead_id: int, lines: int = 3, *, issue: tuple[int, ...] = (1,)) -> tuple[Deal, list[Invoice]]:
    deal = deal_get_or_create(account=account, external_id=lead_id)
    schedule_replace(deal=deal, plan_request=PlanRequest(plan="equal", total=1000 * lines, installments_count=lines,
                                                         first_due_date=date(2026, 12, 1)),
                     options=ScheduleOptions(), request_data={}, created_by=1, today=date(2026, 11, 24))
    invoices = []
    for seq in issue:
        line = deal.schedules.get(is_active=True).installments.get(seq=seq)
        invoice = invoice_reserve(installment_id=line.pk).invoice
        Invoice.objects.filter(pk=invoice.pk).update(status="issued")
        invoices.append(Invoice.objects.select_related("deal").get(pk=invoice.pk))
    return deal, invoices


def _rows(deal: Deal) -> dict:
    """What a Pay wrote for `deal`, without ids, lead ids and moments that differ between twins."""
    deal.refresh_from_db()
    payments = list(Payment.objects.filter(deal=deal).order_by("id"))
    tx = {payment.pk: str(int(payment.transaction_id) % 1000) for payment in payments}
    event_rows = list(DomainEvent.objects.filter(payload__deal_id=deal.pk, name__in=("payment_recorded", "deal_paid"))
                      .order_by("id"))
    strip = ("payment_id", "deal_id", "external_id", "invoice_id")

    def anon(text: str) -> str:
        return text.replace(str(deal.external_id), "L")

    return {
        "deal": (deal.total, deal.paid, deal.debt, deal.status),
        "payments": [(p.amount, p.method, p.paid_at, tx[p.pk], re.sub(r"\d{4}-\d+", "N", p.comment),
                      anon(p.card_token), p.receipt_status, p.invoice.installment.seq
                      if p.invoice_id else None) for p in payments],
        "allocations": sorted((tx[a.payment_id], a.installment.seq, a.amount)
                              for a in Allocation.objects.filter(payment__deal=deal)),
        "lines": list(Installment.objects.filter(schedule__deal=deal, schedule__is_active=True)
                      .order_by("seq").values_list("seq", "paid")),
        "invoices": list(Invoice.objects.filter(deal=deal).order_by("id")
                         .values_list("installment__seq", "status", "paid_amount", "paid_at")),
        "events": [(event.name, {k: v for k, v in event.payload.items() if k not in strip},
                    sorted((d.handler, d.ordering_key.replace(str(deal.pk), "D"), d.state, d.attempts)
                           for d in EventDelivery.objects.filter(event=event))) for event in event_rows],
        "gateway_events": [(e.kind, e.status, e.answer_code, e.error, e.payment_id is not None, e.replays)
                           for e in GatewayEvent.objects.filter(payment__deal=deal).order_by("id")],
        "cards": [(c.gateway, anon(c.token), c.public_id, anon(c.gateway_account_id), c.card_first_six,
                   c.card_last_four, c.card_exp, c.card_type, c.status, c.source_payment_id is not None)
                  for c in SavedCard.objects.filter(deal=deal).order_by("id")],
    }


def _twins(notifier, settings, account, scenario) -> tuple[dict, dict, list[int]]:
    """Play `scenario(lead_id, path_base)` on the general path and on the hot path; return both rows and the
    data statements of each hot Pay."""
    settings.PAYPLAN_PAY_HOT_PATH = False
    general = _rows(scenario(notifier, account, 8101, 810000, []))
    settings.PAYPLAN_PAY_HOT_PATH = True
    counts: list[int] = []
    hot = _rows(scenario(notifier, account, 8102, 820000, counts))
    return general, hot, counts


def _pay(notifier, invoice: Invoice, transaction_id: int, amount: str, counts: list[int], **extra):
    with CaptureQueriesContext(connection) as captured:
        response = notifier.post("pay", pay_fields(invoice, transaction_id=transaction_id, amount=amount, **extra))
    assert response.status_code == 200, response.content
    assert response.json() == {"code": 0}
    counts.append(len([q for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]))


def _whole_plan(notifier, account, lead_id, tx, counts):
    deal, invoices = _deal(account, lead_id, issue=(1, 2, 3))
    for offset, invoice in enumerate(invoices, start=1):
        _pay(notifier, invoice, tx + offset, str(invoice.amount), counts, Token=f"tk_{lead_id}")
    return deal


def _partial_then_rest(notifier, account, lead_id, tx, counts):
    deal, (invoice,) = _deal(account, lead_id)
    _pay(notifier, invoice, tx + 1, "400.00", counts, Token="")
    _pay(notifier, invoice, tx + 2, "600.00", counts, Token="")
    return deal


def _more_than_the_plan(notifier, account, lead_id, tx, counts):
    deal, (invoice,) = _deal(account, lead_id, lines=2)
    _pay(notifier, invoice, tx + 1, "2500.00", counts, Token="", CardFirstSix="", CardExpDate="")
    return deal


def _one_pay_covering_two_lines(notifier, account, lead_id, tx, counts):
    # Line 2's live invoice is paid by line 1's money: the general path cancels it (invoice_sync).
    deal, (first, _second) = _deal(account, lead_id, issue=(1, 2))
    _pay(notifier, first, tx + 1, "2000.00", [], Token="")
    return deal


@pytest.mark.parametrize("scenario", [_whole_plan, _partial_then_rest, _more_than_the_plan,
                                      _one_pay_covering_two_lines])
def test_the_hot_path_writes_what_the_general_path_writes(notifier, settings, account, scenario):
    general, hot, counts = _twins(notifier, settings, account, scenario)
    assert hot == general
    assert max(counts, default=0) <= 12


def test_with_receipts_on_the_payment_is_flagged_for_its_receipt(notifier, settings, account):
    account.settings = {**account.settings, "receipts": {"enabled": True, "inn": "7701234567"}}
    account.save(update_fields=["settings"])
    general, hot, _ = _twins(notifier, settings, account, _partial_then_rest)
    assert hot == general
    assert {row[6] for row in hot["payments"]} == {"pending"}


def test_a_card_of_another_deal_is_left_alone_on_both_paths(notifier, settings, account):
    other, (first,) = _deal(account, 8199)
    _pay(notifier, first, 899001, "1000.00", [], Token="tk_shared")

    def shared_card(notifier, account, lead_id, tx, counts):
        deal, (invoice,) = _deal(account, lead_id)
        _pay(notifier, invoice, tx + 1, "1000.00", counts, Token="tk_shared")
        return deal

    general, hot, _ = _twins(notifier, settings, account, shared_card)
    assert hot == general
    assert hot["cards"] == []
    assert SavedCard.objects.filter(deal=other).count() == 1


def test_off_the_common_road_the_general_path_answers(notifier, settings, account):
    deal, (first, second) = _deal(account, 8201, lines=2, issue=(1, 2))
    # A later payment already exists: the deal is re-allocated as a whole, by the general path.
    _pay(notifier, first, 830001, "1000.00", [], DateTime="2026-11-26 10:00:00")
    counts: list[int] = []
    _pay(notifier, second, 830002, "1000.00", counts, DateTime="2026-11-25 10:00:00")
    assert counts[0] > 12
    assert Deal.objects.get(pk=deal.pk).paid == Decimal("2000.00")


def test_an_unknown_subscriber_sends_every_pay_down_the_general_path(notifier, account):
    seen = []

    def listener(event):
        seen.append(event.name)

    deal, (invoice,) = _deal(account, 8301)
    events.subscribe(events.PAYMENT_RECORDED, listener)
    try:
        _pay(notifier, invoice, 840001, "1000.00", [])
    finally:
        events._in_transaction_subscribers[events.PAYMENT_RECORDED].remove(listener)
    assert seen == ["payment_recorded"]
    assert Deal.objects.get(pk=deal.pk).paid == Decimal("1000.00")
