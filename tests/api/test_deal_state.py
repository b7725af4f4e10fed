"""Deal state has one source: the card, analytics, the CRM fields and the stored row agree, and the
stored status follows the calendar through the status tick (in the account's time zone)."""
import pathlib
import re
from datetime import date
from decimal import Decimal

import pytest
import time_machine

from billing.domain.status import PlanLine, deal_figures
from billing.models import Deal
from billing.selectors import deal_figures_get
from billing.services.deal_status import deal_status_tick, deal_statuses_refresh
from crm.feed import fields_snapshot

pytestmark = pytest.mark.django_db
LEAD = 4242
PLAN = {"plan": "equal", "total": "30000.00", "installments_count": 3, "first_due_date": "2027-03-10", "due_day": 10}
BEFORE_DUE = "2027-03-01 12:00:00+03:00"
DAY_AFTER_DUE = "2027-03-11 12:00:00+03:00"


@pytest.fixture
def planned(widget):
    with time_machine.travel(BEFORE_DUE, tick=False):
        assert widget.put(f"/api/v1/deals/{LEAD}/schedule", PLAN).status_code == 200
    assert Deal.objects.get(external_id=LEAD).status == "active"
    return widget


def test_a_line_due_yesterday_reads_overdue_from_the_api_analytics_and_the_row_after_the_tick(planned):
    with time_machine.travel(DAY_AFTER_DUE, tick=False):
        card = planned.get(f"/api/v1/deals/{LEAD}").json()
        assert (card["status"], card["overdue_amount"]) == ("overdue", "10000.00")
        summary = planned.get("/api/v1/analytics/summary").json()
        assert summary["overdue"] == {"amount": "10000.00", "count": 1}
        assert Deal.objects.get(external_id=LEAD).status == "active"  # nobody wrote money since the line fell due

        assert deal_status_tick() == 1
        assert Deal.objects.get(external_id=LEAD).status == "overdue"
        assert deal_status_tick() == 0  # idempotent: a doubled beat changes nothing


def test_a_money_write_stores_the_status_the_selector_derives(planned):
    with time_machine.travel(DAY_AFTER_DUE, tick=False):
        planned.post(f"/api/v1/deals/{LEAD}/payments", {"amount": "1000.00", "method": "cash",
                                                        "paid_at": "2027-03-11"})
        assert Deal.objects.get(external_id=LEAD).status == "overdue"  # 9 000 of the first line still late
        planned.post(f"/api/v1/deals/{LEAD}/payments", {"amount": "9000.00", "method": "cash",
                                                        "paid_at": "2027-03-11"})
        deal = Deal.objects.get(external_id=LEAD)
        assert deal.status == planned.get(f"/api/v1/deals/{LEAD}").json()["status"] == "active"
        assert (deal.paid, deal.debt) == (Decimal("10000.00"), Decimal("20000.00"))


def test_the_tick_uses_the_account_today_not_the_server_today(planned, account):
    deal = Deal.objects.get(external_id=LEAD)
    with time_machine.travel("2027-03-10 20:30:00+00:00", tick=False):  # 23:30 in Moscow: due today, not late
        assert deal_statuses_refresh(account=account) == 0
    with time_machine.travel("2027-03-10 21:30:00+00:00", tick=False):  # 00:30 on the 11th in Moscow
        assert deal_statuses_refresh(account=account) == 1
    deal.refresh_from_db()
    assert deal.status == "overdue"


def test_the_card_the_crm_fields_and_the_stored_row_take_one_set_of_figures(planned):
    deal = Deal.objects.get(external_id=LEAD)
    with time_machine.travel(DAY_AFTER_DUE, tick=False):
        figures = deal_figures_get(deal=deal)
        card = planned.get(f"/api/v1/deals/{LEAD}").json()
        snapshot = fields_snapshot(deal)
    assert card["status"] == figures.status == "overdue"
    assert card["schedule"]["monthly_payment"] == snapshot["monthly_payment"] == str(figures.monthly_payment)
    assert card["schedule"]["last_due_date"] == snapshot["last_payment_day"] == figures.last_due_date.isoformat()
    assert card["debt"] == snapshot["debt"] == str(figures.debt)
    assert card["next_due"] == {"seq": 2, "due_date": "2027-04-10", "amount": "10000.00"}


def test_deal_figures_on_a_day():
    lines = [PlanLine(2, "regular", date(2027, 2, 10), Decimal(100), Decimal(0)),
             PlanLine(1, "first", date(2027, 1, 10), Decimal(50), Decimal(20)),
             PlanLine(3, "regular", date(2027, 3, 10), Decimal(100), Decimal(0))]
    figures = deal_figures(lines=lines, has_plan=True, plan_total=Decimal(250), payments_total=Decimal(20),
                           cancelled=False, today=date(2027, 2, 10))
    assert (figures.status, figures.overdue_amount, figures.debt) == ("overdue", Decimal(30), Decimal(230))
    assert (figures.monthly_payment, figures.last_due_date) == (Decimal(100), date(2027, 3, 10))
    assert (figures.next_due.seq, figures.next_due.amount) == (2, Decimal(100))  # due today is not late yet


DERIVATIONS = [re.compile(pattern) for pattern in (
    r"\bdeal_status\(",                                       # the deal's status
    r"due_date\s*<\s*today|today\s*-\s*\w+\.due_date",          # a line being late, and by how much
    r"regular\[0\]\.amount|regular\[0\] if|(Kind\.REGULAR|== \"regular\")\), None\)",  # the monthly payment
    r"max\(.*due_date",                                       # the last due date
)]
HOMES = {"billing/domain/status.py"}


def test_no_derived_deal_figure_is_computed_outside_the_selector():
    root = pathlib.Path(__file__).resolve().parents[2]
    offenders = []
    for package in ("billing", "widget_api", "crm", "documents", "client_portal"):
        for path in (root / package).rglob("*.py"):
            relative = path.relative_to(root).as_posix()
            if relative in HOMES or "/migrations/" in relative or "/sandbox/" in relative:
                continue
            text = path.read_text()
            offenders += [f"{relative}: {rule.pattern}" for rule in DERIVATIONS if rule.search(text)]
    assert offenders == []
