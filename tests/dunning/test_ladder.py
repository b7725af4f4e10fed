"""The ladder over real PostgreSQL: at most once, never after payment, local hours, catch-up, shifts."""
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from billing.dunning.channels import PermanentChannelError, TemporaryChannelError
from billing.dunning.models import DunningLine, OverdueFact, StepRun
from billing.dunning.selectors import deal_dunning_get
from billing.dunning.services import client_postpone_request, dunning_policy_set, line_promise_record
from billing.errors import ApplicationError
from tests.client_links import client_pages_linked
from tests.dunning.conftest import at, events, make_account, make_deal, runs, tick


@pytest.fixture
def deal(school):
    return make_deal(school)


def test_overdue_is_recorded_once_at_the_cutoff_of_the_due_date(school, deal, provider):
    tick(at(school, "2026-12-05 17:59"))
    assert OverdueFact.objects.count() == 0
    tick(at(school, "2026-12-05 18:00"))
    tick(at(school, "2026-12-05 18:05"))
    fact = OverdueFact.objects.get()
    assert (fact.outstanding, fact.debt) == (Decimal("25000.00"), Decimal("75000.00"))
    [overdue] = events("installment_overdue")
    assert overdue["text"] == "Клиент Иванова Мария не оплатил(а) 25 000,00 ₽ по сроку 05.12.2026, долг 75 000,00 ₽"
    assert (overdue["seq"], overdue["responsible_user_id"], overdue["outstanding"]) == (1, 501, "25000.00")


def test_same_day_manager_task_goes_to_the_responsible_manager_after_the_cutoff(school, deal, provider):
    tick(at(school, "2026-12-05 10:00"))
    assert [e["channel"] for e in events("reminder_sent")] == ["client_email"]
    tick(at(school, "2026-12-05 18:00"))
    task = events("reminder_sent")[-1]
    assert (task["channel"], task["assignee_user_id"], task["step_key"]) == ("manager_task", 501, "+0:manager_task")
    assert "не оплатил(а) 25 000,00 ₽ по сроку 05.12.2026" in task["text"]


def test_a_tick_run_twice_sends_each_step_once(school, deal, provider):
    tick(at(school, "2026-12-02 10:00"))
    tick(at(school, "2026-12-02 10:00"))
    tick(at(school, "2026-12-02 11:00"))
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ivanova@example.test"]
    assert "/r/" in mail.outbox[0].body
    assert "/paid" in mail.outbox[0].body
    assert "/postpone" in mail.outbox[0].body
    assert deal.pk in client_pages_linked(mail.outbox[0].body)  # the client's page: plan and pay buttons
    assert runs() == [("-3:client_email", "sent")]
    assert len(events("installment_due_soon")) == 1


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_ticks_send_once(provider):
    from tests.threads import run_together

    school = make_account(31234567, "school")
    make_deal(school)
    moment = at(school, "2026-12-05 18:30")
    results = run_together([lambda: tick(moment), lambda: tick(moment), lambda: tick(moment)])
    assert all(results)
    assert len(mail.outbox) == 1  # the +0 email; -3 skipped (never ticked before)
    assert OverdueFact.objects.count() == 1
    assert len(events("installment_overdue")) == 1
    assert sorted(runs()) == [("+0:client_email", "sent"), ("+0:manager_task", "sent"), ("-3:client_email", "skipped")]
    assert len(events("reminder_sent")) == 2


def test_no_reminder_for_a_line_paid_between_planning_and_sending(school, deal, provider):
    from billing.services import PaymentInput, payment_record

    tick(at(school, "2026-12-05 00:05"))  # planned for 09:00: quiet hours
    assert sorted(runs()) == [("+0:client_email", "planned"), ("-3:client_email", "skipped")]
    with time_machine.travel(at(school, "2026-12-05 08:00"), tick=False):
        payment_record(deal=deal, amount=Decimal("25000.00"),
                       payment=PaymentInput(method="cash", paid_at=date(2026, 12, 5), recorded_by=1))
    tick(at(school, "2026-12-05 09:05"))
    tick(at(school, "2026-12-05 18:30"))
    assert mail.outbox == []
    assert ("+0:client_email", "cancelled") in runs()
    assert StepRun.objects.get(step_key="+0:client_email").error == "Оплачено до отправки"
    assert OverdueFact.objects.count() == 0
    assert events("reminder_sent") == []


def test_vladivostok_and_kaliningrad_hear_at_their_own_local_hours(db, provider):
    from datetime import UTC, datetime

    vladivostok = make_account(1001, "vlad", "Asia/Vladivostok")
    kaliningrad = make_account(1002, "kgd", "Europe/Kaliningrad")
    make_deal(vladivostok, lead_id=1, email="vlad@example.test")
    make_deal(kaliningrad, lead_id=2, email="kgd@example.test")
    tick(datetime(2026, 12, 4, 23, 30, tzinfo=UTC))  # 09:30 in Vladivostok, 01:30 in Kaliningrad
    assert [m.to for m in mail.outbox] == [["vlad@example.test"]]
    tick(datetime(2026, 12, 5, 6, 59, tzinfo=UTC))  # 08:59 in Kaliningrad: still quiet
    assert len(mail.outbox) == 1
    tick(datetime(2026, 12, 5, 7, 0, tzinfo=UTC))  # 09:00 in Kaliningrad
    assert [m.to for m in mail.outbox] == [["vlad@example.test"], ["kgd@example.test"]]
    tick(datetime(2026, 12, 5, 12, 0, tzinfo=UTC))  # 22:00 in Vladivostok, 14:00 in Kaliningrad
    assert [e["external_id"] for e in events("installment_overdue")] == [1]
    tick(datetime(2026, 12, 5, 16, 0, tzinfo=UTC))  # 18:00 in Kaliningrad
    assert [e["external_id"] for e in events("installment_overdue")] == [1, 2]


def test_after_a_week_of_downtime_only_the_latest_step_goes_out(school, deal, provider):
    tick(at(school, "2026-11-28 10:00"))
    tick(at(school, "2026-12-13 10:00"))  # beat was down from day -7 to day +8
    assert mail.outbox == []
    assert provider.sent == []
    assert [e["step_key"] for e in events("reminder_sent")] == ["+7:manager_task"]
    assert dict(runs()) == {"-3:client_email": "skipped", "+0:client_email": "skipped",
                            "+0:manager_task": "skipped", "+3:client_sms": "skipped",
                            "+3:client_whatsapp": "skipped", "+7:manager_task": "sent"}
    tick(at(school, "2026-12-13 10:05"))
    assert len(events("reminder_sent")) == 1
    assert OverdueFact.objects.count() == 1


def test_a_client_postponement_shifts_that_lines_ladder(school, deal, provider):
    tick(at(school, "2026-12-02 10:00"))
    line = DunningLine.objects.get(seq=1)
    result = client_postpone_request(account_id=school.pk, line_id=line.pk, requested=date(2026, 12, 9),
                                     now=at(school, "2026-12-02 10:30"))
    assert result.accepted
    tick(at(school, "2026-12-05 18:30"))
    assert OverdueFact.objects.count() == 0
    assert len(mail.outbox) == 1  # only the -3 email
    tick(at(school, "2026-12-09 10:00"))
    assert len(mail.outbox) == 2
    assert "09.12.2026" not in mail.outbox[1].subject
    tick(at(school, "2026-12-09 18:30"))
    assert OverdueFact.objects.count() == 1
    [answered] = events("client_answered")
    assert (answered["answer"], answered["accepted"], answered["requested_date"]) == ("postpone", True, "2026-12-09")


def test_a_second_or_too_long_postponement_asks_the_manager(school, deal, provider):
    tick(at(school, "2026-12-02 10:00"))
    line = DunningLine.objects.get(seq=1)
    now = at(school, "2026-12-02 10:30")
    assert not client_postpone_request(account_id=school.pk, line_id=line.pk, requested=date(2026, 12, 20),
                                       now=now).accepted
    assert client_postpone_request(account_id=school.pk, line_id=line.pk, requested=date(2026, 12, 8), now=now).accepted
    assert not client_postpone_request(account_id=school.pk, line_id=line.pk, requested=date(2026, 12, 9),
                                       now=now).accepted
    assert [e["needs_manager"] for e in events("client_answered")] == [True, False, True]
    line.refresh_from_db()
    assert line.shift_days == 3


def test_a_promise_pauses_the_line_until_its_date(school, deal, provider):
    tick(at(school, "2026-12-05 18:30"))
    line = DunningLine.objects.get(seq=1)
    line_promise_record(account=school, line_id=line.pk, promised_on=date(2026, 12, 11), recorded_by=501)
    tick(at(school, "2026-12-08 10:00"))  # +3 SMS/WhatsApp would be due
    assert provider.sent == []
    tick(at(school, "2026-12-10 23:00"))
    assert provider.sent == []
    tick(at(school, "2026-12-11 10:00"))  # the promise date came and no money: +7 is not due yet, +3 goes
    assert sorted(m.channel for m in provider.sent) == ["client_sms", "client_whatsapp"]


def test_a_plan_rebuild_retargets_the_ladder_without_resending(school, deal, provider):
    from billing.domain.schedule import PlanRequest
    from billing.services import ScheduleOptions, schedule_replace

    tick(at(school, "2026-12-02 10:00"))
    old_installment = DunningLine.objects.get(seq=1).installment_id
    schedule_replace(deal=deal, plan_request=PlanRequest(plan="equal", total=90000, installments_count=3,
                                                         first_due_date=date(2026, 12, 5), due_day=5),
                     options=ScheduleOptions(), request_data={}, created_by=1, today=date(2026, 12, 2))
    tick(at(school, "2026-12-02 10:05"))
    assert len(mail.outbox) == 1
    line = DunningLine.objects.get(seq=1)
    assert line.installment_id != old_installment
    tick(at(school, "2026-12-05 10:00"))
    assert len(mail.outbox) == 2
    assert "30 000,00 ₽" in mail.outbox[1].body
    assert DunningLine.objects.filter(seq=1).count() == 1


def test_a_temporary_failure_is_retried_with_backoff_then_sent(school, deal, provider, settings):
    settings.DUNNING_RETRY_BACKOFF_SECONDS = 300
    tick(at(school, "2026-12-05 18:30"))
    provider.fail_with = [TemporaryChannelError("SMS.ru: HTTP 503")]
    tick(at(school, "2026-12-08 10:00"))
    sms = StepRun.objects.get(step_key="+3:client_sms")
    assert (sms.status, sms.error, sms.attempts) == ("retrying", "SMS.ru: HTTP 503", 1)
    tick(at(school, "2026-12-08 10:04"))
    sms.refresh_from_db()
    assert sms.status == "retrying"
    tick(at(school, "2026-12-08 10:05"))
    sms.refresh_from_db()
    assert (sms.status, sms.attempts, sms.recipient) == ("sent", 2, "79123456789")
    assert sorted(m.channel for m in provider.sent) == ["client_sms", "client_whatsapp"]


def test_failures_end_shown_on_the_deal_never_dropped(school, deal, provider, settings):
    settings.DUNNING_MAX_ATTEMPTS = 2
    settings.DUNNING_RETRY_BACKOFF_SECONDS = 60
    tick(at(school, "2026-12-05 18:30"))
    provider.fail_with = [TemporaryChannelError("WhatsApp: нет ответа вовремя"),
                          PermanentChannelError("SMS.ru 202: Неправильно указан номер"),
                          TemporaryChannelError("WhatsApp: нет ответа вовремя")]
    tick(at(school, "2026-12-08 10:00"))
    tick(at(school, "2026-12-08 10:02"))
    log = {row.step_key: row for row in deal_dunning_get(account=school, external_id=deal.external_id).sends}
    assert (log["+3:client_sms"].status, log["+3:client_sms"].error) in {
        ("failed", "SMS.ru 202: Неправильно указан номер"), ("failed", "WhatsApp: нет ответа вовремя")}
    assert log["+3:client_whatsapp"].status == "failed"
    assert {e["channel"] for e in events("reminder_failed")} == {"client_sms", "client_whatsapp"}
    assert log["+0:client_email"].status == "sent"
    assert log["+0:client_email"].recipient == "ivanova@example.test"


def test_a_client_without_an_email_is_a_visible_failure(school, provider):
    deal = make_deal(school, email="")
    tick(at(school, "2026-12-05 10:00"))
    [row] = [r for r in deal_dunning_get(account=school, external_id=deal.external_id).sends if r.status != "skipped"]
    assert (row.status, row.error) == ("failed", "У клиента не указан email")


def test_a_bad_ladder_is_a_422_naming_the_step(school):
    with pytest.raises(ApplicationError) as error:
        dunning_policy_set(account=school, config={"steps": [{"day": 1, "channel": "note"},
                                                             {"day": 1, "channel": "note"}]})
    assert (error.value.status, error.value.code) == (422, "invalid_ladder")
    assert list(error.value.fields) == ["steps.1.day"]


def test_a_custom_ladder_runs_with_a_named_assignee_and_an_escalation(school, deal, provider):
    dunning_policy_set(account=school, config={"steps": [
        {"day": 1, "channel": "manager_task", "assignee": {"kind": "user", "user_id": 777},
         "action": {"kind": "move_to_stage", "status_id": 55, "pipeline_id": 9},
         "template": "Позвоните: $client, долг $debt"}]})
    tick(at(school, "2026-12-06 10:00"))
    [task] = events("reminder_sent")
    assert (task["assignee_user_id"], task["text"]) == (777, "Позвоните: Иванова Мария, долг 75 000,00 ₽")
    [escalated] = events("deal_escalated")
    assert escalated["action"] == {"kind": "move_to_stage", "status_id": 55, "pipeline_id": 9}


def test_outgoing_plans_are_not_chased(school, provider):
    from billing.domain.schedule import PlanRequest
    from billing.services import ScheduleOptions, deal_get_or_create, schedule_replace

    deal = deal_get_or_create(account=school, external_id=99)
    schedule_replace(deal=deal, plan_request=PlanRequest(plan="equal", total=30000, installments_count=3,
                                                         first_due_date=date(2026, 12, 5), due_day=5),
                     options=ScheduleOptions(direction="outgoing"), request_data={}, created_by=1,
                     today=date(2026, 11, 1))
    tick(at(school, "2026-12-06 10:00"))
    assert runs() == []
    assert OverdueFact.objects.count() == 0


def test_a_retry_that_would_fall_into_quiet_hours_waits_for_the_morning(school, deal, provider, settings):
    settings.DUNNING_RETRY_BACKOFF_SECONDS = 600
    tick(at(school, "2026-12-05 18:30"))
    provider.fail_with = [TemporaryChannelError("SMS.ru: HTTP 503")]
    tick(at(school, "2026-12-08 20:55"))
    sms = StepRun.objects.get(step_key="+3:client_sms")
    assert sms.status == "retrying"
    assert sms.send_after == at(school, "2026-12-09 09:00")


@pytest.mark.parametrize(("language", "greeting", "subject", "task"), [
    ("ru", "Здравствуйте, Иванова Мария! Сегодня, 05.12.2026, срок платежа 25 000,00 ₽.",
     "Напоминание об оплате 25 000,00 ₽ до 05.12.2026", "Клиент Иванова Мария не оплатил(а) 25 000,00 ₽"),
    # English money and dates (billing.texts): «25,000.00 ₽», «2026-12-05»
    ("en", "Hello, Иванова Мария! Today, 2026-12-05, the payment of 25,000.00 ₽ is due.",
     "Payment reminder: 25,000.00 ₽ due 2026-12-05", "The client Иванова Мария has not paid 25,000.00 ₽"),
])
def test_default_reminder_texts_speak_the_accounts_language(school, deal, provider, language, greeting, subject,
                                                            task):
    school.settings = {**school.settings, "language": language}
    school.save(update_fields=["settings"])
    tick(at(school, "2026-12-05 10:00"))
    [email] = mail.outbox
    assert email.body.startswith(greeting)
    assert email.subject == subject
    assert ("Я оплатил:" if language == "ru" else "I have paid:") in email.body
    tick(at(school, "2026-12-05 18:00"))
    assert events("reminder_sent")[-1]["text"].startswith(task)
    assert events("installment_overdue")[-1]["text"].startswith(task)
    skipped = StepRun.objects.get(step_key="-3:client_email")
    assert skipped.error == ("Пропущен: к этому времени наступил более поздний шаг" if language == "ru"
                             else "Skipped: a later step was already due by then")


def test_an_account_written_template_is_sent_as_written_in_an_english_account(school, deal, provider):
    school.settings = {**school.settings, "language": "en"}
    school.save(update_fields=["settings"])
    dunning_policy_set(account=school, config={"steps": [
        {"day": 0, "channel": "client_email", "template": "Добрый день, $client! К оплате $amount."}]})
    tick(at(school, "2026-12-05 10:00"))
    # its own words as written; the sum, like every sum of an English account, the English way
    assert mail.outbox[0].body == "Добрый день, Иванова Мария! К оплате 25,000.00 ₽."
