"""Collections in the widget: the card's «Напоминания», the «Должники сегодня» worklist and the ladder
editor, in Chromium against the demo, in Russian and English."""
import json
import re
from datetime import timedelta

import pytest
from django.db.models import F
from playwright.sync_api import expect

from billing.dunning.domain import policy_dump
from billing.dunning.models import CallOutcome, ChannelSettings, DunningLine, DunningPolicy, LadderDecision, StepRun
from billing.dunning.selectors import policy_get
from billing.dunning.services import dunning_policy_set
from billing.dunning.tasks import dunning_run_now
from billing.models import Deal
from billing.time import account_today

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OVERDUE_LEAD = 17652  # Пётр Петров: lines two and one month ago unpaid
TEXTS = {
    "ru": {"title": "Напоминания", "days": "{days} дн.", "delivered": "Доставлено", "remind": "Напомнить сейчас",
           "call": "Записать звонок", "no_answer": "Не ответил", "promise": "Обещал оплатить…",
           "lawyer": "Передать юристу", "handed": "Передано юристу", "debtors": "Должники сегодня",
           "saved": "Напоминания сохранены", "key_set": "ключ задан", "key_missing": "ключ не задан",
           "waive": "Списать пеню", "waived": "Пеня списана"},
    "en": {"title": "Reminders", "days": "{days} d", "delivered": "Delivered", "remind": "Remind now",
           "call": "Record a call", "no_answer": "No answer", "promise": "Promised to pay…",
           "lawyer": "Hand to the lawyer", "handed": "Handed to the lawyer", "debtors": "Debtors today",
           "saved": "Reminders saved", "key_set": "key set", "key_missing": "key not set",
           "waive": "Waive the fee", "waived": "The fee is waived"},
}


def text(locator) -> str:
    return locator.inner_text().replace("\xa0", " ").replace("\u202f", " ").strip()


def date_text(value, lang: str) -> str:
    return value.strftime("%d.%m.%Y") if lang == "ru" else value.strftime("%d %b %Y")


def reminders(page):
    return page.locator("#payplan-panel [data-reminders]")


def dialog(page, kind: str):
    return page.locator(f'.payplan-dialog[data-dialog="{kind}"]')


@pytest.fixture
def ladder_ran(demo):
    """The ladder has run once today: the overdue lines got their latest steps."""
    dunning_run_now()
    return demo


def quiet_hours_off(account) -> None:
    """E2e runs on the machine's clock (Chromium's cannot be moved), and a client reminder asked for in the
    quiet hours (21:00–09:00 local) waits for the morning: a test that sends now turns them off, so it holds at
    any hour of the day. The quiet hours themselves are tested on a frozen clock (tests/dunning)."""
    enabled, policy = policy_get(account=account)
    dunning_policy_set(account=account, enabled=enabled,
                       config={**policy_dump(policy), "quiet_start_hour": 0, "quiet_end_hour": 0})


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_card_shows_days_overdue_the_send_log_and_reminds_now(open_demo, ladder_ran, lang, artifacts):
    quiet_hours_off(ladder_ran)
    deal = Deal.objects.get(account=ladder_ran, external_id=OVERDUE_LEAD)
    page = open_demo(lead=OVERDUE_LEAD, lang=lang)
    block = reminders(page)
    expect(block.locator(".payplan-section__head")).to_contain_text(TEXTS[lang]["title"])
    oldest = deal.schedules.get(is_active=True).installments.filter(paid__lt=F("amount")).order_by("due_date").first()
    days = (account_today(ladder_ran) - oldest.due_date).days
    expect(block.locator('[data-reminders-fact="days_overdue"] b')).to_have_text(TEXTS[lang]["days"].format(days=days))
    expect(block.locator('[data-reminders-fact="next_step"] b')).not_to_be_empty()
    assert StepRun.objects.filter(deal=deal, status="sent").exists()
    expect(block.locator('[data-send-status="sent"]').first).to_be_visible()

    block.get_by_role("button", name=TEXTS[lang]["remind"]).click()
    form = dialog(page, "dun-remind")
    form.locator('[name="channel"]').select_option("client_email")
    form.locator('[data-payplan-action="save"]').click()
    expect(form).to_have_count(0)
    email = block.locator('[data-send-status="sent"]', has_text="petrov@example.test")
    expect(email.first).to_be_visible()
    expect(email.first.locator("[data-send-result]")).to_have_text(TEXTS[lang]["delivered"])
    assert StepRun.objects.filter(deal=deal, channel="client_email", status="sent",
                                  recipient="petrov@example.test").exists()
    block.screenshot(path=str(artifacts / f"collections-card-{lang}.png"))


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_call_outcome_and_a_promised_date_are_recorded_from_the_card(open_demo, ladder_ran, lang):
    deal = Deal.objects.get(account=ladder_ran, external_id=OVERDUE_LEAD)
    page = open_demo(lead=OVERDUE_LEAD, lang=lang)
    block = reminders(page)
    block.get_by_role("button", name=TEXTS[lang]["call"]).click()
    form = dialog(page, "dun-call")
    form.get_by_label(TEXTS[lang]["no_answer"]).check()
    form.locator('[name="comment"]').fill("Перезвонить вечером")
    form.locator('[data-payplan-action="save"]').click()
    expect(form).to_have_count(0)
    expect(block.locator(".payplan-reminders__call").first).to_contain_text(TEXTS[lang]["no_answer"])
    call = CallOutcome.objects.get(deal=deal)
    assert (call.outcome, call.comment) == ("no_answer", "Перезвонить вечером")

    promised = account_today(ladder_ran) + timedelta(days=8)
    block.get_by_role("button", name=TEXTS[lang]["promise"]).click()
    form = dialog(page, "dun-promise")
    seq = int(form.locator('[name="seq"]').input_value())
    form.locator('[name="date"]').fill(promised.isoformat())
    form.locator('[data-payplan-action="save"]').click()
    expect(form).to_have_count(0)
    expect(block.locator('[data-reminders-fact="promised"] b')).to_have_text(date_text(promised, lang))
    assert DunningLine.objects.get(deal=deal, seq=seq).paused_until == promised


def test_a_promise_in_the_past_is_refused_beside_the_date(open_demo, ladder_ran):
    page = open_demo(lead=OVERDUE_LEAD)
    reminders(page).get_by_role("button", name=TEXTS["ru"]["promise"]).click()
    form = dialog(page, "dun-promise")
    form.locator('[name="date"]').fill(account_today(ladder_ran).isoformat())
    form.locator('[data-payplan-action="save"]').click()
    expect(form.locator('[data-error-for="date"]')).to_contain_text("позже")
    assert not DunningLine.objects.filter(deal__external_id=OVERDUE_LEAD, paused_until__isnull=False).exists()


def test_a_refused_call_hands_the_deal_to_the_lawyer_at_once(open_demo, ladder_ran):
    page = open_demo(lead=OVERDUE_LEAD)
    block = reminders(page)
    block.get_by_role("button", name=TEXTS["ru"]["call"]).click()
    form = dialog(page, "dun-call")
    form.get_by_label("Отказался платить").check()
    expect(form.locator("[data-refused-only]")).to_be_visible()
    form.locator('[data-payplan-action="save"]').click()
    expect(block.locator('[data-reminders-fact="decision"] b')).to_contain_text(TEXTS["ru"]["handed"])
    assert LadderDecision.objects.filter(deal__external_id=OVERDUE_LEAD, decision="lawyer").exists()


def test_a_late_fee_is_shown_on_the_card_and_waived_with_a_reason(open_demo, demo):
    dunning_policy_set(account=demo, config={"penalties": {"fixed": "500.00"}})
    dunning_run_now()
    page = open_demo(lead=OVERDUE_LEAD)
    block = reminders(page)
    fee = block.locator("[data-fee-seq]").first
    expect(fee).to_contain_text("500,00 ₽")
    fee.get_by_role("button", name=TEXTS["ru"]["waive"]).click()
    form = dialog(page, "dun-waive")
    form.locator('[data-payplan-action="save"]').click()
    expect(form.locator('[data-error-for="reason"]')).to_be_visible()  # a waiver needs its reason
    form.locator('[name="reason"]').fill("Клиент договорился с директором")
    form.locator('[data-payplan-action="save"]').click()
    expect(form).to_have_count(0)
    expect(page.locator("#payplan-panel .payplan-flash")).to_have_text(TEXTS["ru"]["waived"])
    expect(block.locator("[data-fee-waiver]")).to_contain_text("Клиент договорился с директором")
    expect(block.locator("[data-fee-waiver]")).to_contain_text("−500,00 ₽")


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_worklist_lists_debtors_and_an_aging_bucket_opens_it_filtered(open_demo, ladder_ran, lang, artifacts):
    page = open_demo(area="advanced_settings", lang=lang)
    debtors = page.locator("[data-debtors]")
    expect(debtors.locator(".payplan-panel-box__title")).to_have_text(TEXTS[lang]["debtors"])
    row = debtors.locator(f'tr[data-debtor="{OVERDUE_LEAD}"]').first
    expect(row).to_contain_text("Пётр Петров")
    expect(row).to_contain_text("+7 903 111-22-33")
    days = [int(text(cell)) for cell in debtors.locator("[data-days-overdue]").all()]
    assert days
    assert all(value > 0 for value in days), days
    debtors.screenshot(path=str(artifacts / f"collections-worklist-{lang}.png"))

    page.locator('.payplan-aging__item[data-bucket="overdue_1_30"]').click()
    expect(debtors.locator('[data-payplan-action="debtors-bucket"].is-active')).to_have_attribute(
        "data-bucket", "overdue_1_30")
    expect(debtors.locator("[data-days-overdue]").first).to_be_visible()
    in_bucket = [int(text(cell)) for cell in debtors.locator("[data-days-overdue]").all()]
    assert in_bucket
    assert all(1 <= value <= 30 for value in in_bucket), in_bucket
    assert len(in_bucket) < len(days)

    page.locator('.payplan-aging__item[data-bucket="overdue_over_180"]').click()
    expect(debtors.locator("[data-debtors-empty]")).to_be_visible()


def test_one_click_task_and_promise_from_the_worklist(open_demo, ladder_ran):
    page = open_demo(area="advanced_settings")
    debtors = page.locator("[data-debtors]")
    row = debtors.locator(f'tr[data-debtor="{OVERDUE_LEAD}"]').first
    seq = int(row.get_attribute("data-seq"))
    before = StepRun.objects.filter(deal__external_id=OVERDUE_LEAD, channel="manager_task").count()
    row.locator('[data-payplan-action="debtor-task"]').click()
    expect(debtors.locator("[data-debtors-result]")).to_have_text("Задача менеджеру поставлена")
    assert StepRun.objects.filter(deal__external_id=OVERDUE_LEAD, channel="manager_task").count() == before + 1

    promised = account_today(ladder_ran) + timedelta(days=3)
    line = f'tr[data-debtor="{OVERDUE_LEAD}"][data-seq="{seq}"]'
    debtors.locator(f'{line} [data-payplan-action="debtor-promise"]').click()
    form = dialog(page, "dun-promise")
    form.locator('[name="date"]').fill(promised.isoformat())
    form.locator('[data-payplan-action="save"]').click()
    expect(form).to_have_count(0)
    expect(debtors.locator(line)).to_contain_text(
        promised.strftime("%d.%m.%Y"))
    assert DunningLine.objects.get(deal__external_id=OVERDUE_LEAD, seq=seq).paused_until == promised


def settings_block(page):
    return page.locator(".payplan-dunning-settings")


def step(block, index: int):
    return block.locator('[data-row-of="steps"]').nth(index)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_ladder_editor_saves_what_changed_and_reads_it_back(open_demo, demo, lang, artifacts):
    # The demo set every channel's key: here WhatsApp has none, and Telegram keeps an option the page never shows.
    ChannelSettings.objects.filter(account=demo, channel="whatsapp").delete()
    ChannelSettings.objects.filter(account=demo, channel="telegram").update(
        options={"bot_username": "school_bot", "webhook_secret": "kept"}, secret="bot-token")
    page = open_demo(area="settings", lang=lang)
    sent = []
    page.on("request", lambda request: sent.append((request.method, request.url, request.post_data))
            if "/api/v1/account/dunning" in request.url and request.method != "GET" else None)
    block = settings_block(page)
    expect(step(block, 0).locator('[data-name="day"]')).to_have_value("-3")
    expect(block.locator('[name="dunning.cutoff_hour"]')).to_have_value("18")
    expect(block.locator('[data-channel="telegram"] [data-secret-state]')).to_have_text(TEXTS[lang]["key_set"])
    expect(block.locator('[data-channel="whatsapp"] [data-secret-state]')).to_have_text(TEXTS[lang]["key_missing"])
    expect(block.locator('[name="dunning.channels.telegram.secret"]')).to_have_value("")
    expect(block.locator('[name="dunning.channels.telegram.options.bot_username"]')).to_have_value("school_bot")
    assert "bot-token" not in page.content()

    step(block, 0).locator('[data-name="day"]').fill("-5")
    block.get_by_role("button", name=re.compile("Добавить шаг|Add a step")).click()
    new = step(block, 7)
    new.locator('[data-name="day"]').fill("14")
    new.locator('[data-name="channel"]').select_option("client_sms")
    new.locator('[data-name="action.kind"]').select_option("late_fee")
    new.locator('[data-name="action.fixed"]').fill("300")
    block.locator('[name="dunning.quiet_start_hour"]').fill("20")
    block.locator('[name="dunning.penalties.mode"]').select_option("percent")
    block.locator('[name="dunning.penalties.value"]').fill("0,1")
    block.locator('[name="dunning.penalties.cap"]').fill("5000")
    block.locator('[name="dunning.channels.sms.secret"]').fill("sms-api-id")
    block.locator('[name="dunning.channels.sms.options.sender"]').fill("SCHOOL")
    page.locator("[data-demo-save]").click()
    expect(block.locator("[data-dunning-result]")).to_have_text(TEXTS[lang]["saved"])
    step(block, 7).screenshot(path=str(artifacts / f"collections-ladder-step-{lang}.png"))
    block.locator("[data-dunning-channels]").screenshot(path=str(artifacts / f"collections-channels-{lang}.png"))

    config = DunningPolicy.objects.get(account=demo).config
    assert (config["steps"][0]["day"], config["steps"][0]["channel"]) == (-5, "client_email")
    assert config["steps"][7]["action"] == {"kind": "late_fee", "fixed": "300.00"}
    assert config["steps"][6]["action"] == {"kind": "assign_user", "role": "lawyer"}  # untouched, kept
    assert (config["quiet_start_hour"], config["quiet_end_hour"], config["cutoff_hour"]) == (20, 9, 18)
    assert config["penalties"]["percent_per_day"] == "0.10"
    assert config["penalties"]["cap"] == "5000.00"
    sms = ChannelSettings.objects.get(account=demo, channel="sms")
    assert (sms.secret, sms.options, sms.enabled) == ("sms-api-id", {"sender": "SCHOOL"}, True)
    telegram = ChannelSettings.objects.get(account=demo, channel="telegram")
    assert (telegram.secret, telegram.options["webhook_secret"]) == ("bot-token", "kept")
    patches = [json.loads(body) for method, url, body in sent if method == "PATCH"]
    assert len(patches) == 1
    assert set(patches[0]) == {"steps", "quiet_start_hour", "penalties"}  # only what changed
    assert [json.loads(body)["channel"] for method, url, body in sent if method == "PUT"] == ["sms"]

    page = open_demo(area="settings", lang=lang)  # read back
    block = settings_block(page)
    expect(step(block, 0).locator('[data-name="day"]')).to_have_value("-5")
    expect(step(block, 7).locator('[data-name="action.fixed"]')).to_have_value("300.00")
    expect(block.locator('[name="dunning.quiet_start_hour"]')).to_have_value("20")
    expect(block.locator('[name="dunning.penalties.value"]')).to_have_value("0.10")
    expect(block.locator('[data-channel="sms"] [data-secret-state]')).to_have_text(TEXTS[lang]["key_set"])
    expect(block.locator('[data-channel="whatsapp"] [data-secret-state]')).to_have_text(TEXTS[lang]["key_missing"])
    expect(block.locator('[name="dunning.channels.sms.secret"]')).to_have_value("")
    expect(block.locator('[name="dunning.channels.sms.options.sender"]')).to_have_value("SCHOOL")
    assert "sms-api-id" not in page.content()
    sent.clear()
    page.on("request", lambda request: sent.append(request.method)
            if "/api/v1/account/dunning" in request.url and request.method != "GET" else None)
    page.locator("[data-demo-save]").click()  # nothing changed: nothing is sent
    expect(block.locator("[data-dunning-result]")).not_to_have_text(TEXTS[lang]["saved"])
    expect(block.locator("[data-dunning-result]")).not_to_be_empty()
    assert sent == []


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_bad_ladder_shows_the_422_next_to_its_step_and_saves_nothing(open_demo, demo, lang, artifacts):
    before = DunningPolicy.objects.get(account=demo).config
    page = open_demo(area="settings", lang=lang)
    block = settings_block(page)
    expect(step(block, 1).locator('[data-name="day"]')).to_have_value("0")
    step(block, 1).locator('[data-name="day"]').fill("-3")  # the same day and channel as step 1
    page.locator("[data-demo-save]").click()
    error = step(block, 1).locator('[data-error-for="steps.1.day"]')
    expect(error).to_be_visible()
    expect(error).to_contain_text("2")
    expect(step(block, 0).locator(".payplan-field-error:visible")).to_have_count(0)
    expect(block.locator("[data-dunning-result]")).to_have_attribute("data-tone", "error")
    step(block, 1).screenshot(path=str(artifacts / f"collections-ladder-error-{lang}.png"))
    assert DunningPolicy.objects.get(account=demo).config == before

    step(block, 2).locator('[data-name="action.kind"]').select_option("late_fee")
    step(block, 2).locator('[data-name="action.fixed"]').fill("900")
    step(block, 2).locator('[data-name="action.cap"]').fill("500")
    step(block, 1).locator('[data-name="day"]').fill("0")
    page.locator("[data-demo-save]").click()
    expect(step(block, 2).locator('[data-error-for="steps.2.action.fixed"]')).to_be_visible()
    expect(step(block, 1).locator('[data-error-for="steps.1.day"]')).to_be_hidden()
    assert DunningPolicy.objects.get(account=demo).config == before
