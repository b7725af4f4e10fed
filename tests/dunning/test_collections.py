"""Penalties as fee lines in new versions, receivables stages, end-of-ladder decisions, the ladder-done flag."""
from decimal import Decimal

import pytest
import time_machine

from billing.dunning.models import DealStage, DunningLine, LadderDecision, PenaltyCharge, StepRun
from billing.dunning.penalties import penalty_waive
from billing.dunning.services import dunning_policy_set
from billing.errors import ApplicationError
from billing.models import Installment, Schedule
from billing.services import PaymentInput, payment_record
from billing.services.relay import events_relay_run
from crm.models import CrmAction
from tests.dunning.conftest import at, events, make_deal, tick


@pytest.fixture
def deal(school):
    return make_deal(school)


def _fees(deal):
    return list(Installment.objects.filter(schedule__deal=deal, schedule__is_active=True, kind="fee")
                .order_by("seq").values_list("seq", "amount", "label"))


def test_percent_penalty_is_a_fee_line_in_a_new_version_once_per_day(school, deal, provider):
    dunning_policy_set(account=school, config={"penalties": {"percent_per_day": "0.10", "cap": "100.00"}})
    tick(at(school, "2026-12-05 18:30"))  # overdue recorded today; no fee on the due date itself
    assert _fees(deal) == []
    tick(at(school, "2026-12-06 10:00"))
    tick(at(school, "2026-12-06 11:00"))  # same day again: nothing more
    assert _fees(deal) == [(4, Decimal("25.00"), "Пеня по платежу № 1 от 05.12.2026")]
    assert PenaltyCharge.objects.count() == 1
    active = Schedule.objects.get(deal=deal, is_active=True)
    assert (active.version, active.total) == (2, Decimal("75025.00"))
    assert "Пеня за просрочку" in active.request["change"]["reason"]
    assert list(Schedule.objects.get(deal=deal, version=1).installments.values_list("amount", flat=True)) == [
        Decimal("25000.00")] * 3  # the old version is history, untouched
    deal.refresh_from_db()
    assert deal.debt == Decimal("75025.00")
    tick(at(school, "2026-12-08 10:00"))  # two more days (one missed): 2 × 25.00, under the cap
    assert _fees(deal) == [(4, Decimal("75.00"), "Пеня по платежу № 1 от 05.12.2026")]
    tick(at(school, "2026-12-09 10:00"))
    tick(at(school, "2026-12-10 10:00"))
    assert _fees(deal)[0][1] == Decimal("100.00")  # capped
    assert any(event["kind"] == "charge" for event in events("penalty_changed"))


def test_fixed_penalty_once_and_paid_history_kept(school, deal, provider):
    dunning_policy_set(account=school, config={"penalties": {"fixed": "500.00"}})
    with time_machine.travel(at(school, "2026-12-01 10:00")):
        payment_record(deal=deal, amount=Decimal("10000.00"), payment=PaymentInput(
            method="cash", paid_at=at(school, "2026-12-01 10:00").date(), recorded_by=1, comment="",
            idempotency_key=None))
    tick(at(school, "2026-12-05 18:30"))
    tick(at(school, "2026-12-06 10:00"))
    tick(at(school, "2026-12-07 10:00"))
    assert _fees(deal) == [(4, Decimal("500.00"), "Пеня по платежу № 1 от 05.12.2026")]
    first = Installment.objects.get(schedule__deal=deal, schedule__is_active=True, seq=1)
    assert first.paid == Decimal("10000.00")  # the payment stays on the line it paid


def test_a_manager_waives_a_fee_with_a_reason_as_a_new_version(school, deal, provider):
    dunning_policy_set(account=school, config={"penalties": {"fixed": "500.00"}})
    tick(at(school, "2026-12-05 18:30"))
    tick(at(school, "2026-12-06 10:00"))
    with pytest.raises(ApplicationError) as refused:
        penalty_waive(account=school, external_id=deal.external_id, fee_seq=4, reason=" ", waived_by=77,
                      today=at(school, "2026-12-06 10:00").date(), now=at(school, "2026-12-06 10:00"))
    assert refused.value.fields == {"reason": ["Укажите причину."]}
    penalty_waive(account=school, external_id=deal.external_id, fee_seq=4, reason="Договорились", waived_by=77,
                  today=at(school, "2026-12-06 10:00").date(), now=at(school, "2026-12-06 10:00"))
    assert _fees(deal) == []
    assert Schedule.objects.get(deal=deal, is_active=True).version == 3
    waiver = PenaltyCharge.objects.get(kind="waiver")
    assert (waiver.amount, waiver.recorded_by) == (Decimal("-500.00"), 77)
    assert "Договорились" in waiver.reason
    tick(at(school, "2026-12-09 10:00"))
    assert _fees(deal) == []  # a waived line accrues no more


def test_a_fee_line_gets_no_ladder_of_its_own(school, deal, provider):
    dunning_policy_set(account=school, config={"penalties": {"fixed": "500.00"}})
    tick(at(school, "2026-12-05 18:30"))
    tick(at(school, "2026-12-06 10:00"))
    tick(at(school, "2026-12-09 10:00"))
    assert not DunningLine.objects.filter(seq=4).exists()


def test_a_lead_moves_once_per_aging_bucket(school, deal, provider):
    dunning_policy_set(account=school, config={"stages": {"overdue_1_30": {"status_id": 301},
                                                          "overdue_31_90": {"status_id": 302, "pipeline_id": 9}}})
    tick(at(school, "2026-12-06 10:00"))
    tick(at(school, "2026-12-07 10:00"))
    assert [event["status_id"] for event in events("deal_stage_changed")] == [301]
    tick(at(school, "2027-01-05 10:00"))  # 31 days late
    assert [event["status_id"] for event in events("deal_stage_changed")] == [301, 302]
    events_relay_run()  # the CRM feed runs after commit, in the relay
    moves = list(CrmAction.objects.filter(deal=deal, kind="update_lead").order_by("id").values_list("payload",
                                                                                                  flat=True))
    assert moves == [{"status_id": 301, "pipeline_id": None}, {"status_id": 302, "pipeline_id": 9}]
    assert DealStage.objects.get(deal=deal).bucket == "overdue_31_90"


def test_ladder_done_lines_are_not_read_again_and_end_of_ladder_decides(school, deal, provider):
    dunning_policy_set(account=school, config={"steps": [{"day": 0, "channel": "manager_task", "after_cutoff": True},
                                                         {"day": 3, "channel": "client_sms"}],
                                               "end_of_ladder": "lawyer"})
    tick(at(school, "2026-12-05 18:30"))
    assert DunningLine.objects.get(seq=1).ladder_done_at is None
    tick(at(school, "2026-12-08 10:00"))
    line = DunningLine.objects.get(seq=1)
    assert line.ladder_done_at is not None
    decision = LadderDecision.objects.get()
    assert (decision.decision, decision.decided_by) == ("lawyer", None)
    report = tick(at(school, "2026-12-09 10:00"))
    assert report["lines"] == 0  # the done line is not read again (the next lines are not due yet)


def test_monthly_decision_keeps_reminding_every_30_days(school, deal, provider):
    from billing.dunning.manager import deal_decision_record

    dunning_policy_set(account=school, config={"steps": [{"day": 3, "channel": "client_sms"}]})
    tick(at(school, "2026-12-08 10:00"))
    deal_decision_record(account=school, external_id=deal.external_id, decision="monthly", reason="", decided_by=5,
                         now=at(school, "2026-12-08 10:00"))
    tick(at(school, "2027-01-02 10:00"))  # day 28 of the first line
    assert not StepRun.objects.filter(day=33, line__seq=1).exists()
    tick(at(school, "2027-01-07 10:00"))  # day 33 = 3 + 30
    assert set(StepRun.objects.filter(day=33, line__seq=1).values_list("channel", flat=True)) == {
        "client_email", "manager_task"}


def test_a_policy_change_reopens_done_ladders(school, deal, provider):
    dunning_policy_set(account=school, config={"steps": [{"day": 0, "channel": "manager_task", "after_cutoff": True}]})
    tick(at(school, "2026-12-05 18:30"))
    assert DunningLine.objects.get(seq=1).ladder_done_at is not None
    dunning_policy_set(account=school, config={"steps": [{"day": 0, "channel": "manager_task", "after_cutoff": True},
                                                         {"day": 5, "channel": "client_sms"}]})
    assert DunningLine.objects.get(seq=1).ladder_done_at is None
    tick(at(school, "2026-12-10 10:00"))
    assert StepRun.objects.filter(step_key="+5:client_sms").exists()


def test_the_plus_30_hand_to_the_lawyer_step_is_one_task_and_one_note_in_the_crm(school, deal, provider):
    lawyer = {"day": 30, "channel": "manager_task", "assignee": {"kind": "lawyer"},
              "action": {"kind": "assign_user", "role": "lawyer"}}  # the default ladder's last step
    dunning_policy_set(account=school, config={"steps": [lawyer], "lawyer_user_id": 909})
    tick(at(school, "2027-01-04 10:00"))  # the first line is 30 days late
    events_relay_run()
    actions = list(CrmAction.objects.filter(deal=deal, source__in=("reminder_sent", "deal_escalated"))
                   .order_by("id").values_list("kind", "payload"))
    kinds = sorted(kind for kind, _payload in actions)
    assert kinds == ["add_note", "create_task", "update_lead"]
    task = next(payload for kind, payload in actions if kind == "create_task")
    assert task["responsible_user_id"] == 909
    assert next(payload for kind, payload in actions if kind == "update_lead") == {"responsible_user_id": 909}
