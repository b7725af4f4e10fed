"""The counterparty report (paid to each, payments made, remaining principal; per counterparty and per
contract) agrees with a brute-force recomputation from the payments and lines, under every filter."""
from collections import defaultdict
from decimal import Decimal
from io import BytesIO

import pytest
import time_machine
from openpyxl import load_workbook

from billing.models import Deal, Installment, Payment

pytestmark = pytest.mark.django_db
TODAY = "2027-02-15 12:00:00+03:00"
ZERO = Decimal("0.00")
RECIPIENTS = {21: "ООО «Ромашка»", 22: "ООО «Ромашка»", 23: "Иванов Иван", 24: "", 25: "Петров Пётр"}


@pytest.fixture
def ledger(widget):
    """Outgoing payouts (leases, a loan, claims) to four recipients, one of them on two contracts, and an
    incoming deal that must never mix with them; payments, a refund, partial lines."""
    with time_machine.travel("2026-11-20 12:00:00+03:00", tick=False):
        plans = {
            21: {"plan": "equal", "total": "120000.00", "installments_count": 4, "first_due_date": "2026-12-10",
                 "due_day": 10, "group": "Аренда"},
            22: {"plan": "equal", "total": "60000.00", "installments_count": 6, "first_due_date": "2026-12-31",
                 "due_day": "last", "group": "Заём"},
            23: {"plan": "equal", "total": "90000.00", "installments_count": 3, "first_due_date": "2026-12-31",
                 "due_day": "last", "group": "Аренда", "manager_id": 777},
            24: {"plan": "full", "total": "15000.00", "first_due_date": "2027-01-15"},
            25: {"plan": "equal", "total": "50000.00", "installments_count": 2, "first_due_date": "2026-12-05",
                 "due_day": 5, "direction": "incoming"},
        }
        for lead_id, plan in plans.items():
            body = {"direction": "outgoing", **plan}
            assert widget.put(f"/api/v1/deals/{lead_id}/schedule", body).status_code == 200
    payments = [(21, "30000.00", "2026-12-10"), (21, "30000.00", "2027-01-10"), (21, "5000.00", "2027-02-10"),
                (22, "10000.00", "2026-12-31"), (23, "30000.00", "2026-12-31"), (23, "10000.00", "2027-02-01"),
                (25, "25000.00", "2026-12-05")]
    with time_machine.travel("2027-02-14 12:00:00+03:00", tick=False):
        for lead_id, amount, paid_at in payments:
            response = widget.post(f"/api/v1/deals/{lead_id}/payments",
                                   {"amount": amount, "method": "bank_transfer", "paid_at": paid_at})
            assert response.status_code == 201, response.content
    # A refund of part of a payout: money back subtracts, and is not a payment made.
    original = Payment.objects.get(deal__external_id=23, amount=Decimal("10000.00"))
    Payment.objects.create(account=widget.account, deal=original.deal, amount=Decimal("-4000.00"),
                           method="bank_transfer", paid_at="2027-02-02", refund_of=original)
    Installment.objects.filter(schedule__deal__external_id=23, schedule__is_active=True, seq=2).update(
        paid=Decimal("6000.00"))
    Deal.objects.filter(external_id=23).update(paid=Decimal("36000.00"), debt=Decimal("54000.00"))
    for lead_id, name in RECIPIENTS.items():
        Deal.objects.filter(account=widget.account, external_id=lead_id).update(contact_name=name)
    return widget


def brute_force(account, *, direction="outgoing", date_from=None, date_to=None, group=None, by="counterparty"):
    """Every figure from the raw rows, one Python loop each."""
    rows = defaultdict(lambda: {"paid": ZERO, "payments_count": 0, "remaining": ZERO, "total": ZERO, "deals": set()})
    for deal in Deal.objects.filter(account=account, direction=direction, cancelled_at__isnull=True):
        if group and deal.group != group:
            continue
        fallback = f"Сделка №{deal.external_id}"
        key = str(deal.external_id) if by == "contract" else (deal.contact_name.strip() or fallback)
        for line in Installment.objects.filter(schedule__deal=deal, schedule__is_active=True):
            rows[key]["remaining"] += line.amount - line.paid
            rows[key]["total"] += line.amount
            rows[key]["deals"].add(deal.pk)
        for payment in Payment.objects.filter(deal=deal).exclude(method="opening_balance"):
            day = payment.paid_at.isoformat() if hasattr(payment.paid_at, "isoformat") else str(payment.paid_at)
            if (date_from and day < date_from) or (date_to and day > date_to):
                continue
            rows[key]["paid"] += payment.amount
            rows[key]["payments_count"] += 1 if payment.amount > 0 else 0
            rows[key]["deals"].add(deal.pk)
    return {key: (value["paid"], value["payments_count"], value["remaining"], value["total"], len(value["deals"]))
            for key, value in rows.items()}


def reported(body, by="counterparty"):
    return {(row["key"] if by == "contract" else row["counterparty"]):
            (Decimal(row["paid"]), row["payments_count"], Decimal(row["remaining"]), Decimal(row["total"]),
             row["deals_count"]) for row in body["rows"]}


FILTERS = [{}, {"date_from": "2027-01-01", "date_to": "2027-01-31"}, {"date_from": "2027-02-01"},
           {"group": "Аренда"}, {"date_to": "2026-12-31", "group": "Заём"}]


@time_machine.travel(TODAY, tick=False)
@pytest.mark.parametrize("params", FILTERS)
@pytest.mark.parametrize("by", ["counterparty", "contract"])
def test_counterparty_figures_agree_with_a_brute_force_recomputation(ledger, params, by):
    body = ledger.client.get("/api/v1/analytics/counterparties", {"direction": "outgoing", "group_by": by, **params},
                             HTTP_ACCEPT_LANGUAGE="ru", **ledger.headers()).json()
    expected = brute_force(ledger.account, by=by, **params)
    assert reported(body, by) == expected
    assert Decimal(body["totals"]["paid"]) == sum((row[0] for row in expected.values()), ZERO)
    assert body["totals"]["payments_count"] == sum(row[1] for row in expected.values())
    assert Decimal(body["totals"]["remaining"]) == sum((row[2] for row in expected.values()), ZERO)


@time_machine.travel(TODAY, tick=False)
def test_one_counterparty_on_two_contracts_is_one_row_and_two_contract_rows(ledger):
    body = ledger.get("/api/v1/analytics/counterparties", direction="outgoing").json()
    romashka = next(row for row in body["rows"] if row["counterparty"] == "ООО «Ромашка»")
    assert (romashka["deals_count"], romashka["paid"], romashka["payments_count"], romashka["remaining"]) == (
        2, "75000.00", 4, "105000.00")
    contracts = ledger.get("/api/v1/analytics/counterparties", direction="outgoing", group_by="contract").json()
    assert {row["lead_id"] for row in contracts["rows"]} == {21, 22, 23, 24}
    assert all(row["contract"].startswith("Д-") or row["contract"] for row in contracts["rows"])
    incoming = ledger.get("/api/v1/analytics/counterparties", direction="incoming").json()
    assert [row["counterparty"] for row in incoming["rows"]] == ["Петров Пётр"]


@time_machine.travel(TODAY, tick=False)
def test_the_counterparty_report_exports_as_a_sheet_in_both_languages(ledger):
    for lang, sheet_name, header in (("ru", "По контрагентам", "Контрагент"), ("en", "By counterparty",
                                                                             "Counterparty")):
        response = ledger.get("/api/v1/analytics/export.xlsx", kind="counterparties", direction="outgoing", lang=lang)
        assert response.status_code == 200
        book = load_workbook(BytesIO(response.content))
        assert book.sheetnames == [sheet_name]
        rows = list(book.active.values)
        assert rows[0][0] == header
        assert rows[-1][0] in ("Итого", "Total")
        assert Decimal(str(rows[-1][rows[0].index("Остаток долга" if lang == "ru" else "Remaining principal")])) == (
            Decimal("285000.00") - Decimal("65000.00") - Decimal("10000.00") - Decimal("36000.00"))
    contracts = load_workbook(BytesIO(ledger.get("/api/v1/analytics/export.xlsx", kind="contracts",
                                                 direction="outgoing", lang="ru").content))
    assert contracts.sheetnames == ["По договорам"]


def test_the_counterparty_report_is_the_callers_account_only_and_refuses_bad_grouping(ledger, other_widget):
    assert other_widget.get("/api/v1/analytics/counterparties", direction="outgoing").json()["rows"] == []
    response = ledger.get("/api/v1/analytics/counterparties", group_by="manager")
    assert response.status_code in (400, 422)
    assert "group_by" in response.json()["error"]["fields"]
