"""The pure ladder rules: validation naming the step, the catch-up, quiet hours, texts."""
from datetime import date, datetime
from decimal import Decimal

import pytest

from billing.dunning import domain
from billing.dunning.domain import DEFAULT_STEPS, LadderError, line_plan, next_allowed, policy_parse


def test_defaults_are_a_valid_ladder():
    policy = policy_parse(domain.policy_dump(domain.DEFAULT_POLICY))
    assert [step.key for step in policy.steps] == [
        "-3:client_email", "+0:client_email", "+0:manager_task", "+3:client_sms", "+3:client_whatsapp",
        "+7:manager_task", "+30:manager_task"]


def test_same_day_twice_on_one_channel_names_the_step():
    with pytest.raises(LadderError) as error:
        policy_parse({"steps": [{"day": 0, "channel": "client_email"}, {"day": 3, "channel": "client_sms"},
                                {"day": 0, "channel": "client_email"}]})
    assert error.value.field == "steps.2.day"
    assert "the same day" in error.value.message  # English in the pure domain; Russian from the catalogue


def test_negative_percent_is_refused():
    with pytest.raises(LadderError) as error:
        policy_parse({"steps": [{"day": 5, "channel": "note",
                                 "action": {"kind": "late_fee", "percent_per_day": "-0.1"}}]})
    assert error.value.field == "steps.0.action.percent_per_day"


def test_fee_above_its_cap_is_refused():
    with pytest.raises(LadderError) as error:
        policy_parse({"steps": [{"day": 1, "channel": "note"},
                                {"day": 5, "channel": "note", "action": {"kind": "late_fee", "fixed": "900.00",
                                                                         "cap": "500.00"}}]})
    assert error.value.field == "steps.1.action.fixed"


@pytest.mark.parametrize(("raw", "field"), [
    ({"steps": [{"day": "x", "channel": "note"}]}, "steps.0.day"),
    ({"steps": [{"day": 1, "channel": "pigeon"}]}, "steps.0.channel"),
    ({"steps": [{"day": 1, "channel": "manager_task", "assignee": {"kind": "user"}}]}, "steps.0.assignee.user_id"),
    ({"cutoff_hour": 24}, "cutoff_hour"),
])
def test_nonsense_is_refused_with_its_field(raw, field):
    with pytest.raises(LadderError) as error:
        policy_parse(raw)
    assert error.value.field == field


def test_after_downtime_only_the_latest_due_day_is_sent_and_earlier_ones_skipped():
    plan = line_plan(steps=DEFAULT_STEPS, due_date=date(2026, 12, 5), now_local=datetime(2026, 12, 15, 10),
                     cutoff_hour=18, recorded_keys={"-3:client_email"})
    assert [step.key for step in plan.send] == ["+7:manager_task"]
    assert [step.key for step in plan.skip] == ["+0:client_email", "+0:manager_task", "+3:client_sms",
                                                "+3:client_whatsapp"]


def test_a_recorded_later_step_means_nothing_is_sent_again():
    plan = line_plan(steps=DEFAULT_STEPS, due_date=date(2026, 12, 5), now_local=datetime(2026, 12, 9, 10),
                     cutoff_hour=18, recorded_keys={"+3:client_sms", "+3:client_whatsapp"})
    assert plan.send == ()


def test_same_day_manager_task_waits_for_the_cutoff():
    before = line_plan(steps=DEFAULT_STEPS, due_date=date(2026, 12, 5), now_local=datetime(2026, 12, 5, 17, 59),
                       cutoff_hour=18, recorded_keys={"+0:client_email"})
    after = line_plan(steps=DEFAULT_STEPS, due_date=date(2026, 12, 5), now_local=datetime(2026, 12, 5, 18, 0),
                      cutoff_hour=18, recorded_keys={"+0:client_email"})
    assert before.send == ()
    assert [step.key for step in after.send] == ["+0:manager_task"]


def test_a_pause_holds_the_line_until_its_date():
    kwargs = {"steps": DEFAULT_STEPS, "due_date": date(2026, 12, 5), "cutoff_hour": 18, "recorded_keys": set(),
              "paused_until": date(2026, 12, 10)}
    assert line_plan(now_local=datetime(2026, 12, 9, 23), **kwargs).send == ()
    assert [s.key for s in line_plan(now_local=datetime(2026, 12, 10, 0, 5), **kwargs).send] == [
        "+3:client_sms", "+3:client_whatsapp"]


@pytest.mark.parametrize(("now", "expected"), [
    (datetime(2026, 12, 5, 8, 59), datetime(2026, 12, 5, 9, 0)),
    (datetime(2026, 12, 5, 9, 0), datetime(2026, 12, 5, 9, 0)),
    (datetime(2026, 12, 5, 20, 59), datetime(2026, 12, 5, 20, 59)),
    (datetime(2026, 12, 5, 21, 0), datetime(2026, 12, 6, 9, 0)),
    (datetime(2026, 12, 5, 0, 5), datetime(2026, 12, 5, 9, 0)),
])
def test_quiet_hours_move_a_send_to_the_morning(now, expected):
    assert next_allowed(now, quiet_start_hour=21, quiet_end_hour=9) == expected


def test_texts_are_english_msgids_the_caller_translates_with_money_and_date():
    text = domain.overdue_text(client="Иванова Мария", outstanding=Decimal("25000"), due_date=date(2026, 12, 5),
                               debt=Decimal("75000"))
    assert text == "The client Иванова Мария has not paid 25 000,00 ₽ due 05.12.2026, debt 75 000,00 ₽"
    asked = []
    text = domain.overdue_text(client="X", outstanding=Decimal("1"), due_date=date(2026, 12, 5), debt=Decimal("1"),
                               translate=lambda message: asked.append(message) or "%(client)s/%(debt)s")
    assert (asked, text) == ([domain.OVERDUE_TEXT], "X/1,00 ₽")
    assert domain.client_label(" ", 7001) == "on deal No. 7001"


def test_a_default_step_text_is_translated_and_an_account_template_is_kept_as_written():
    values = {"client": "Мария", "amount": Decimal("100"), "due_date": date(2026, 12, 5), "debt": Decimal("300"),
              "days_overdue": 0, "links": "L"}
    def upper(message):
        return message.replace("Hello", "HELLO")

    default = domain.step_text(domain.Step(day=0, channel="client_email"), translate=upper, **values)
    assert default == "HELLO, Мария! Today, 05.12.2026, the payment of 100,00 ₽ is due. L"
    own = domain.step_text(domain.Step(day=0, channel="client_email", template="Добрый день, $client: $amount"),
                           translate=upper, **values)
    assert own == "Добрый день, Мария: 100,00 ₽"


def test_postpone_within_limit_once():
    due, today = date(2026, 12, 5), date(2026, 12, 4)
    assert domain.postpone_decide(due_date=due, requested=date(2026, 12, 12), today=today, max_days=7,
                                  already_postponed=False).allowed
    assert not domain.postpone_decide(due_date=due, requested=date(2026, 12, 13), today=today, max_days=7,
                                      already_postponed=False).allowed
    assert domain.postpone_decide(due_date=due, requested=date(2026, 12, 8), today=today, max_days=7,
                                  already_postponed=True).needs_manager


# --- stages as each CRM names them -----------------------------------------------------------------

def test_a_bitrix24_account_maps_buckets_and_decisions_to_stage_codes():
    policy = policy_parse({"stages": {"overdue_1_30": {"status_id": "C1:UC_PAYING", "pipeline_id": 1},
                                      "overdue_31_90": {"status_id": "PREPAYMENT_INVOICE", "pipeline_id": 0},
                                      "lawyer": {"status_id": "C12:UC_AB12CD"}},
                           "steps": [{"day": 5, "channel": "note",
                                      "action": {"kind": "move_to_stage", "status_id": "C1:NEW", "pipeline_id": 1}}]},
                          stage_ids="code")
    assert policy.stage_map == {"overdue_1_30": domain.StageTarget("C1:UC_PAYING", 1),
                                "overdue_31_90": domain.StageTarget("PREPAYMENT_INVOICE", 0),
                                "lawyer": domain.StageTarget("C12:UC_AB12CD", None)}
    assert (policy.steps[0].action.status_id, policy.steps[0].action.pipeline_id) == ("C1:NEW", 1)
    dumped = domain.policy_dump(policy)
    assert dumped["stages"]["overdue_1_30"] == {"status_id": "C1:UC_PAYING", "pipeline_id": 1}
    assert policy_parse(dumped, stage_ids="code") == policy  # what is stored reads back the same


@pytest.mark.parametrize(("stage", "field"), [
    ({"status_id": 142}, "stages.overdue_1_30.status_id"),  # an amoCRM number is no Bitrix24 stage
    ({"status_id": "142"}, "stages.overdue_1_30.status_id"),
    ({"status_id": "C1:"}, "stages.overdue_1_30.status_id"),
    ({"status_id": "NEW; DROP TABLE"}, "stages.overdue_1_30.status_id"),
    ({"status_id": "X" * 51}, "stages.overdue_1_30.status_id"),
    ({"status_id": ["NEW"]}, "stages.overdue_1_30.status_id"),
    ({"status_id": ""}, "stages.overdue_1_30.status_id"),
    ({"status_id": "C1:WON", "pipeline_id": 2}, "stages.overdue_1_30.status_id"),  # another pipeline's stage
    ({"status_id": "WON", "pipeline_id": 1}, "stages.overdue_1_30.status_id"),
    ({"status_id": "C1:WON", "pipeline_id": -1}, "stages.overdue_1_30.pipeline_id"),
    ({"status_id": "C1:WON", "pipeline_id": "1"}, "stages.overdue_1_30.pipeline_id"),
])
def test_a_bitrix24_account_is_refused_anything_but_a_stage_code(stage, field):
    with pytest.raises(LadderError) as error:
        policy_parse({"stages": {"overdue_1_30": stage}}, stage_ids="code")
    assert error.value.field == field


@pytest.mark.parametrize("status_id", ["C1:WON", "142x", "", 0, True, 1.5])
def test_an_amocrm_account_keeps_requiring_a_positive_number(status_id):
    with pytest.raises(LadderError) as error:
        policy_parse({"stages": {"overdue_1_30": {"status_id": status_id}}})
    assert error.value.field == "stages.overdue_1_30.status_id"
    with pytest.raises(LadderError):
        policy_parse({"steps": [{"day": 1, "channel": "note",
                                 "action": {"kind": "move_to_stage", "status_id": status_id}}]})
    assert policy_parse({"stages": {"overdue_1_30": {"status_id": 142, "pipeline_id": 7}}}).stage_map == {
        "overdue_1_30": domain.StageTarget(142, 7)}


def test_a_stored_policy_reads_either_kind_of_stage():
    stored = {"stages": {"overdue_1_30": {"status_id": "C1:NEW", "pipeline_id": 1},
                         "overdue_31_90": {"status_id": 142, "pipeline_id": 7}}}
    assert [target.status_id for target in policy_parse(stored, stage_ids="either").stage_map.values()] == [
        "C1:NEW", 142]
