"""End-of-ladder decisions that hold for lines due later, fees that survive a rebuild, payment mid-ladder,
and the tick's cost: statements per chunk of lines, not per line."""
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.domain.schedule import PlanRequest
from billing.dunning.manager import deal_decision_record
from billing.dunning.models import DunningLine, LadderDecision, OverdueFact, PenaltyCharge, StepRun
from billing.dunning.penalties import penalty_waive
from billing.dunning.selectors import deal_dunning_get
from billing.dunning.services import dunning_account_plan, dunning_policy_set
from billing.models import Deal, Installment, Schedule
from billing.services import PaymentInput, ScheduleOptions, payment_record, schedule_replace
from billing.services.relay import events_relay_run
from crm.models import CrmAction
from tests.dunning.conftest import at, events, make_account, make_deal, runs, tick


@pytest.fixture
def deal(school):
    return make_deal(school)


def _fees(deal):
    return list(Installment.objects.filter(schedule__deal=deal, schedule__is_active=True, kind="fee")
                .order_by("seq").values_list("seq", "amount", "label"))


def _rebuild(deal, *, count=3, total=75000, today=date(2026, 12, 7)):
    return schedule_replace(deal=deal, plan_request=PlanRequest(plan="equal", total=total, installments_count=count,
                                                                first_due_date=date(2026, 12, 5), due_day=5),
                            options=ScheduleOptions(), request_data={}, created_by=1, today=today)


# --- decisions -------------------------------------------------------------------------------------

def test_hand_to_lawyer_stops_the_steps_of_lines_that_fall_due_later(school, deal, provider):
    tick(at(school, "2026-12-05 18:30"))
    deal_decision_record(account=school, external_id=deal.external_id, decision="lawyer", reason="Не отвечает",
                         decided_by=77, now=at(school, "2026-12-06 10:00"))
    before = len(events("reminder_sent"))
    tick(at(school, "2027-01-02 10:00"))  # line 2's -3 email would be due
    tick(at(school, "2027-01-05 18:30"))  # line 2's due date passes
    assert len(events("reminder_sent")) == before
    assert not StepRun.objects.filter(line__seq=2).exists()
    line = DunningLine.objects.get(seq=2)
    assert line.ladder_done_at is not None
    assert OverdueFact.objects.filter(line=line).exists()  # the fact is still recorded: the debt is real
    report = tick(at(school, "2027-01-06 10:00"))
    assert report["lines"] == 0  # stopped lines are not read again


def test_write_off_is_a_record_that_keeps_the_debt_and_the_lines(school, deal, provider):
    tick(at(school, "2026-12-05 18:30"))
    lines_before = list(Installment.objects.filter(schedule__deal=deal, schedule__is_active=True)
                        .values_list("seq", "amount", "paid"))
    deal_decision_record(account=school, external_id=deal.external_id, decision="write_off", reason="Банкротство",
                         decided_by=77, now=at(school, "2026-12-06 10:00"))
    tick(at(school, "2026-12-08 10:00"))  # +3 SMS/WhatsApp would be due
    assert provider.sent == []
    deal.refresh_from_db()
    assert deal.debt == Decimal("75000.00")
    assert list(Installment.objects.filter(schedule__deal=deal, schedule__is_active=True)
                .values_list("seq", "amount", "paid")) == lines_before
    assert Schedule.objects.filter(deal=deal).count() == 1  # no new version: nothing was written off the books
    card = deal_dunning_get(account=school, external_id=deal.external_id)
    assert (card.decision.decision, card.decision.decided_by, card.decision.reason) == ("write_off", 77, "Банкротство")
    assert card.reminders_stopped


def test_open_steps_are_cancelled_visibly_not_deleted_by_a_decision(school, deal, provider):
    tick(at(school, "2026-12-05 00:05"))  # the +0 email waits for 09:00 (quiet hours)
    deal_decision_record(account=school, external_id=deal.external_id, decision="lawyer", reason="",
                         decided_by=77, now=at(school, "2026-12-05 00:10"))
    run = StepRun.objects.get(step_key="+0:client_email")
    assert (run.status, run.error) == ("cancelled", "Остановлено: долг передан юристу")


def test_monthly_after_the_lawyer_resumes_reminding(school, deal, provider):
    dunning_policy_set(account=school, config={"steps": [{"day": 3, "channel": "client_sms"}]})
    deal_decision_record(account=school, external_id=deal.external_id, decision="lawyer", reason="", decided_by=77,
                         now=at(school, "2026-12-06 10:00"))
    tick(at(school, "2026-12-08 10:00"))
    assert provider.sent == []
    deal_decision_record(account=school, external_id=deal.external_id, decision="monthly", reason="Юрист вернул",
                         decided_by=77, now=at(school, "2026-12-09 10:00"))
    tick(at(school, "2026-12-09 10:05"))
    assert [message.channel for message in provider.sent] == ["client_sms"]
    assert not deal_dunning_get(account=school, external_id=deal.external_id).reminders_stopped


def test_a_decision_mapped_to_a_stage_moves_the_lead_and_hands_it_to_the_lawyer(school, deal, provider):
    dunning_policy_set(account=school, config={"lawyer_user_id": 909, "stages": {
        "lawyer": {"status_id": 142001, "pipeline_id": 7}, "write_off": {"status_id": 142002}}})
    with time_machine.travel(at(school, "2026-12-06 10:00")):
        deal_decision_record(account=school, external_id=deal.external_id, decision="lawyer", reason="", decided_by=77,
                             now=at(school, "2026-12-06 10:00"))
        events_relay_run()
    [escalated] = events("deal_escalated")
    assert (escalated["decision"], escalated["decided_by"]) == ("lawyer", 77)
    update = CrmAction.objects.get(deal=deal, kind="update_lead")
    assert update.payload == {"responsible_user_id": 909, "status_id": 142001, "pipeline_id": 7}
    with time_machine.travel(at(school, "2026-12-07 10:00")):
        deal_decision_record(account=school, external_id=deal.external_id, decision="write_off", reason="",
                             decided_by=77,
                             now=at(school, "2026-12-07 10:00"))
        events_relay_run()
    moved = CrmAction.objects.filter(deal=deal, kind="update_lead").order_by("id").last()
    assert moved.payload == {"status_id": 142002, "pipeline_id": None}


def test_an_unknown_decision_stage_key_is_a_422_naming_it(school):
    from billing.errors import ApplicationError

    with pytest.raises(ApplicationError) as error:
        dunning_policy_set(account=school, config={"stages": {"sue": {"status_id": 1}}})
    assert list(error.value.fields) == ["stages.sue"]


# --- penalties across a rebuild ------------------------------------------------------------------------

def test_a_rebuild_from_the_request_keeps_the_late_fees(school, deal, provider):
    dunning_policy_set(account=school, config={"penalties": {"fixed": "500.00"}})
    tick(at(school, "2026-12-05 18:30"))
    tick(at(school, "2026-12-06 10:00"))
    assert _fees(deal) == [(4, Decimal("500.00"), "Пеня по платежу № 1 от 05.12.2026")]
    with time_machine.travel(at(school, "2026-12-07 10:00")):
        payment_record(deal=deal, amount=Decimal("5000.00"), payment=PaymentInput(
            method="cash", paid_at=date(2026, 12, 7), recorded_by=1))
    paid_history = list(Installment.objects.filter(schedule__deal=deal, schedule__version=2)
                        .values_list("seq", "amount", "paid"))
    _rebuild(deal, count=4)  # four lines now: the fee moves to № 5
    assert _fees(deal) == [(5, Decimal("500.00"), "Пеня по платежу № 1 от 05.12.2026")]
    active = Schedule.objects.get(deal=deal, is_active=True)
    assert (active.version, active.total, active.debt) == (3, Decimal("75500.00"), Decimal("75500.00"))
    deal.refresh_from_db()
    assert deal.debt == Decimal("70500.00")  # 75 000 + 500 fee − 5 000 paid
    assert list(Installment.objects.filter(schedule__deal=deal, schedule__version=2)
                .values_list("seq", "amount", "paid")) == paid_history  # the old version is history
    assert PenaltyCharge.objects.get().fee_seq == 5  # the charge follows its fee line
    [changed] = [e for e in events("schedule_changed") if e["version"] == 3]
    assert changed["fee_seq_moves"] == {"4": 5}
    tick(at(school, "2026-12-08 10:00"))
    assert _fees(deal) == [(5, Decimal("500.00"), "Пеня по платежу № 1 от 05.12.2026")]  # fixed: once
    penalty_waive(account=school, external_id=deal.external_id, fee_seq=5, reason="Договорились", waived_by=77,
                  today=date(2026, 12, 8), now=at(school, "2026-12-08 10:00"))
    assert _fees(deal) == []


def test_a_rebuild_with_the_same_request_and_fees_makes_no_new_version(school, deal, provider):
    dunning_policy_set(account=school, config={"penalties": {"fixed": "500.00"}})
    tick(at(school, "2026-12-05 18:30"))
    tick(at(school, "2026-12-06 10:00"))
    before = Schedule.objects.get(deal=deal, is_active=True)
    assert _rebuild(deal).pk == before.pk
    assert _fees(deal) == [(4, Decimal("500.00"), "Пеня по платежу № 1 от 05.12.2026")]


def test_a_percent_fee_keeps_accruing_on_its_line_after_a_rebuild(school, deal, provider):
    dunning_policy_set(account=school, config={"penalties": {"percent_per_day": "0.10"}})
    tick(at(school, "2026-12-05 18:30"))
    tick(at(school, "2026-12-06 10:00"))
    _rebuild(deal, total=75000, count=3, today=date(2026, 12, 6))
    _rebuild(deal, total=80000, count=3, today=date(2026, 12, 6))  # line 1 now 26 666,67: a new line, a new ladder
    assert [row[0:2] for row in _fees(deal)] == [(4, Decimal("25.00"))]


# --- payment and cost ----------------------------------------------------------------------------------

def test_a_payment_in_the_middle_of_the_ladder_stops_it(school, deal, provider):
    tick(at(school, "2026-12-02 10:00"))
    tick(at(school, "2026-12-05 18:30"))
    assert ("+0:manager_task", "sent") in runs(line__seq=1)
    with time_machine.travel(at(school, "2026-12-06 12:00"), tick=False):
        payment_record(deal=deal, amount=Decimal("25000.00"),
                       payment=PaymentInput(method="cash", paid_at=date(2026, 12, 6), recorded_by=1))
    tick(at(school, "2026-12-08 10:00"))  # +3 SMS and WhatsApp
    tick(at(school, "2026-12-12 10:00"))  # +7 manager task
    assert provider.sent == []
    assert {key for key, _ in runs(line__seq=1)} == {"-3:client_email", "+0:client_email", "+0:manager_task"}


def _first_tick_statements(account, deals: int) -> tuple[int, int]:
    for index in range(deals):
        make_deal(account, lead_id=9000 + index, email=f"c{index}@example.test")
    with CaptureQueriesContext(connection) as captured:
        report = dunning_account_plan(account=account, now=at(account, "2026-12-05 18:30"))
    return len(captured), report.lines


def test_the_first_tick_costs_the_same_statements_for_few_or_many_lines(db, provider, settings):
    settings.DUNNING_PLAN_CHUNK_LINES = 500
    few = _first_tick_statements(make_account(1001, "few"), 2)
    many = _first_tick_statements(make_account(1002, "many"), 40)
    assert (few[1], many[1]) == (2, 40)
    assert few[0] == many[0]  # facts, steps and events go in as multi-row statements per chunk
    assert many[0] <= 30


def test_a_chunked_tick_does_what_one_pass_does(school, provider, settings):
    settings.DUNNING_PLAN_CHUNK_LINES = 3  # 7 deals × 1 open line, across 3 chunks
    for index in range(7):
        make_deal(school, lead_id=9100 + index, email=f"c{index}@example.test")
    tick(at(school, "2026-12-05 18:30"))
    tick(at(school, "2026-12-05 18:30"))
    assert OverdueFact.objects.count() == 7
    assert len(events("installment_overdue")) == 7
    assert StepRun.objects.filter(status="sent").count() == 14  # the +0 email and the manager task each
    assert StepRun.objects.filter(status="skipped").count() == 7
    assert Deal.objects.filter(account=school).count() == 7
    assert not LadderDecision.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_overlapping_chunked_ticks_over_many_lines_record_and_send_each_thing_once(provider, settings):
    from django.core import mail

    from tests.threads import run_together

    settings.DUNNING_PLAN_CHUNK_LINES = 4  # 10 lines in 3 chunks: the ticks race inside multi-row inserts
    school = make_account(31234567, "school")
    for index in range(10):
        make_deal(school, lead_id=9200 + index, email=f"c{index}@example.test")
    moment = at(school, "2026-12-05 18:30")
    assert all(run_together([lambda: tick(moment), lambda: tick(moment), lambda: tick(moment)]))
    assert OverdueFact.objects.count() == 10
    assert len(events("installment_overdue")) == 10
    assert len(mail.outbox) == 10  # one +0 email per line
    assert StepRun.objects.count() == 30  # -3 skipped, +0 email, +0 task: each row once
    assert len(events("reminder_sent")) == 20
