"""A custom plan keeps its lines' kinds and labels through an early payoff and a restructuring the client
approves: the down payment stays the down payment, a state fee stays an extra charge with its label, and only
the regular lines are shortened or lowered. Late fees are carried over once, never counted twice."""
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from billing.domain.plan_request import plan_request_from_dict
from billing.domain.schedule import CustomItem, DownPayment, ExtraCharge, PlanRequest
from billing.models import Installment, Schedule
from billing.services import PaymentInput, ScheduleOptions, deal_get_or_create, payment_record, schedule_replace
from billing.services.proposals import early_payoff_apply, proposal_create, proposal_decide
from client_portal.selectors import client_page_get

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 3)
STATE_FEE = "Госпошлина"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(datetime(2026, 12, 10, 9, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def deal(account):
    deal = deal_get_or_create(account=account, external_id=7101)
    schedule_replace(deal=deal, plan_request=PlanRequest(
        plan="custom", total=Decimal("35000"), first_due_date=date(2026, 12, 5),
        down_payment=DownPayment(Decimal("5000"), date(2026, 12, 1)),
        extra_charges=(ExtraCharge(STATE_FEE, Decimal("300"), date(2026, 12, 5)),),
        items=(CustomItem(date(2026, 12, 5), Decimal("10000")), CustomItem(date(2027, 1, 5), Decimal("10000")),
               CustomItem(date(2027, 2, 5), Decimal("10000")))),
        options=ScheduleOptions(), created_by=1, today=date(2026, 11, 24))
    payment_record(deal=deal, amount=Decimal("5000"), payment=PaymentInput(method="cash", paid_at=date(2026, 12, 1),
                                                                          recorded_by=1))
    deal.refresh_from_db()
    return deal


def lines(deal) -> list[tuple]:
    schedule = Schedule.objects.get(deal=deal, is_active=True)
    return [(line.kind, line.label, line.due_date, line.amount)
            for line in schedule.installments.order_by("seq")]


def test_an_early_payoff_keeps_the_down_payment_and_the_state_fee(deal):
    early_payoff_apply(deal=deal, amount=Decimal("15000"), mode="shorten", today=TODAY, created_by=1)
    assert lines(deal) == [
        ("down_payment", "Down payment", date(2026, 12, 1), Decimal("5000.00")),
        ("regular", "Installment", TODAY, Decimal("15000.00")),
        ("regular", "Installment", date(2026, 12, 5), Decimal("10000.00")),
        ("extra", STATE_FEE, date(2026, 12, 5), Decimal("300.00")),
        ("regular", "Installment", date(2027, 1, 5), Decimal("5000.00")),
    ]
    schedule = Schedule.objects.get(deal=deal, is_active=True)
    assert schedule.debt == Decimal("35300.00")  # the same deal, to the kopeck
    assert schedule.request["extra_charges"] == [{"label": STATE_FEE, "amount": "300.00", "due_date": "2026-12-05"}]
    assert schedule.request["down_payment"] == {"amount": "5000.00", "due_date": "2026-12-01"}


def test_a_lump_due_with_an_overdue_state_fee_keeps_the_fee_as_its_own_line(deal):
    later = date(2026, 12, 10)  # the first regular line and the state fee are overdue: both go into the lump
    early_payoff_apply(deal=deal, amount=Decimal("20300"), mode="lower", today=later, created_by=1)
    assert lines(deal) == [
        ("down_payment", "Down payment", date(2026, 12, 1), Decimal("5000.00")),
        ("regular", "Installment", later, Decimal("20000.00")),
        ("extra", STATE_FEE, later, Decimal("300.00")),
        ("regular", "Installment", date(2027, 1, 5), Decimal("5000.00")),
        ("regular", "Installment", date(2027, 2, 5), Decimal("5000.00")),
    ]


def test_a_restructuring_of_the_paid_off_plan_approved_by_the_client_keeps_every_kind(deal):
    early_payoff_apply(deal=deal, amount=Decimal("15000"), mode="shorten", today=TODAY, created_by=1)
    stored = Schedule.objects.get(deal=deal, is_active=True).request
    # The manager moves the last payment by a month (the rebuild dialog sends the stored request back, changed).
    moved = {**stored, "items": [*stored["items"][:-1], {**stored["items"][-1], "due_date": "2027-02-05"}]}
    proposal = proposal_create(deal=deal, plan_request=plan_request_from_dict(moved), options=ScheduleOptions(),
                               proposed_by=1)
    proposal_decide(deal=deal, proposal_id=proposal.pk, approve=True, decided_by="Клиент", today=TODAY)
    assert lines(deal) == [
        ("down_payment", "Down payment", date(2026, 12, 1), Decimal("5000.00")),
        ("regular", "Installment", TODAY, Decimal("15000.00")),
        ("regular", "Installment", date(2026, 12, 5), Decimal("10000.00")),
        ("extra", STATE_FEE, date(2026, 12, 5), Decimal("300.00")),
        ("regular", "Installment", date(2027, 2, 5), Decimal("5000.00")),
    ]


def test_an_early_payoff_carries_a_late_fee_over_once(deal):
    schedule = Schedule.objects.get(deal=deal, is_active=True)
    Installment.objects.create(schedule=schedule, seq=6, kind=Installment.Kind.FEE, label="Пени по платежу № 2",
                               due_date=TODAY, amount=Decimal("150"))
    Schedule.objects.filter(pk=schedule.pk).update(total=schedule.total + 150, debt=schedule.debt + 150)
    early_payoff_apply(deal=deal, amount=Decimal("15000"), mode="shorten", today=TODAY, created_by=1)
    after = Schedule.objects.get(deal=deal, is_active=True)
    assert after.debt == Decimal("35450.00")  # 35 300 of the plan and the fee, once
    assert [line for line in lines(deal) if line[0] == "fee"] == [("fee", "Пени по платежу № 2", TODAY,
                                                                  Decimal("150.00"))]


def test_the_proposal_preview_shows_a_late_fee_as_kept_as_approval_keeps_it(deal):
    schedule = Schedule.objects.get(deal=deal, is_active=True)
    Installment.objects.create(schedule=schedule, seq=6, kind=Installment.Kind.FEE, label="Пени по платежу № 2",
                               due_date=TODAY, amount=Decimal("150"))
    Schedule.objects.filter(pk=schedule.pk).update(total=schedule.total + 150, debt=schedule.debt + 150)
    stored = schedule.request
    moved = {**stored, "items": [*stored["items"][:-1], {**stored["items"][-1], "due_date": "2027-03-05"}]}
    proposal_create(deal=deal, plan_request=plan_request_from_dict(moved), options=ScheduleOptions(), proposed_by=1)

    changes = client_page_get(deal=deal, today=TODAY).proposal.changes

    assert [line.seq for line in changes.lines if line.change == "removed"] == []
    assert all(line.was.kind != "fee" for line in changes.lines if line.was is not None)
