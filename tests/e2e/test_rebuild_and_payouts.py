"""In Chromium: «Пересчитать график» opens with exactly the plan in force and changes nothing untouched;
a payout plan speaks of payouts. Russian and English."""
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from playwright.sync_api import expect

from billing.domain.calendar import add_months
from billing.domain.schedule import DownPayment, ExtraCharge, PlanRequest
from billing.models import Deal, Installment, Payment, Schedule
from billing.services import ScheduleOptions, schedule_replace
from billing.time import account_today

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TWO_WEEKLY_LEAD = 17656  # demo: every 2 weeks, with a down payment
LEGACY_LEAD = 17653  # demo: rounding to roubles, a labelled state fee
PAYOUT_LEAD = 17654  # demo: outgoing, last day of the month
NEW_LEAD = 17658  # demo: no plan yet


def panel(page):
    return page.locator("#payplan-panel")


def dialog(page, kind: str):
    return page.locator(f'.payplan-dialog[data-dialog="{kind}"]')


def versions(lead: int) -> int:
    return Schedule.objects.filter(deal__external_id=lead).count()


def active_lines(lead: int) -> list[tuple[str, str]]:
    """(date as the widget prints it in Russian, amount digits) of the active version's lines."""
    rows = Installment.objects.filter(schedule__deal__external_id=lead, schedule__is_active=True).order_by("seq")
    return [(f"{row.due_date:%d.%m.%Y}", digits(row.amount)) for row in rows]


def digits(amount: Decimal) -> str:
    whole, cents = f"{amount:.2f}".split(".")
    return whole + cents  # the widget always prints kopecks: «12 000,00 ₽»


def preview_lines(form) -> list[tuple[str, str]]:
    rows = []
    for row in form.locator(".payplan-preview-line").all():
        cells = row.locator("td").all_inner_texts()
        rows.append((cells[1].split("\n")[0].strip(), re.sub(r"\D", "", cells[2])))
    return rows


def open_rebuild(open_demo, lead: int, lang: str = "ru"):
    page = open_demo(lead=lead, lang=lang)
    panel(page).locator('[data-payplan-action="schedule"]').click()
    form = dialog(page, "schedule")
    expect(form).to_be_visible()
    expect(form.locator("[data-changes]")).to_be_visible()
    return page, form


def save_and_expect_no_new_version(page, form, lead: int, message: str) -> None:
    form.locator('[data-payplan-action="save"]').click()
    expect(dialog(page, "schedule")).to_have_count(0)
    expect(panel(page).locator(".payplan-flash")).to_have_text(message)
    assert versions(lead) == 1


def test_an_untouched_two_weekly_rebuild_previews_the_same_lines_and_saves_no_version(open_demo, artifacts):
    page, form = open_rebuild(open_demo, TWO_WEEKLY_LEAD)
    expect(form.locator('[data-changes="none"]')).to_have_text(re.compile("Без изменений"))
    expect(form.locator('[name="period"]')).to_have_value("2weeks")
    expect(form.locator('[name="has_down_payment"]')).to_be_checked()
    expect(form.locator('[name="group"]')).to_have_value("Подписки")
    assert preview_lines(form) == active_lines(TWO_WEEKLY_LEAD)
    form.screenshot(path=str(artifacts / "rebuild-unchanged-2weeks.png"))
    save_and_expect_no_new_version(page, form, TWO_WEEKLY_LEAD, "Изменений нет — график остался прежним")

    panel(page).locator('[data-payplan-action="schedule"]').click()
    form = dialog(page, "schedule")
    expect(form.locator('[data-changes="none"]')).to_be_visible()
    form.locator('[name="installments_count"]').fill("5")
    expect(form.locator('[data-changes="some"]')).to_contain_text("было → стало")
    change = form.locator(".payplan-change--changed").first
    expect(change.locator("[data-was]")).not_to_have_text(re.compile(r"^$"))
    expect(change).to_contain_text("→")
    expect(form.locator(".payplan-change--added")).to_have_count(1)
    expect(form.locator(".payplan-preview-line.is-changed").first).to_be_visible()
    form.screenshot(path=str(artifacts / "rebuild-changed-2weeks.png"))
    form.locator('[data-payplan-action="save"]').click()
    expect(dialog(page, "schedule")).to_have_count(0)
    assert versions(TWO_WEEKLY_LEAD) == 2


@pytest.fixture
def last_day_plan(demo):
    """A monthly plan due on the last day, rounded to hundreds, with a down payment and a state fee."""
    today = account_today(demo)
    deal = Deal.objects.get(account=demo, external_id=NEW_LEAD)
    first = add_months(today, 1, "last")
    schedule_replace(
        deal=deal, created_by=1, today=today,
        plan_request=PlanRequest(plan="equal", total=Decimal("100000"), installments_count=7, due_day="last",
                                 first_due_date=first, rounding=Decimal("100"),
                                 down_payment=DownPayment(Decimal("10000"), today + timedelta(days=2)),
                                 extra_charges=(ExtraCharge("Госпошлина", Decimal("1500"), first),)),
        options=ScheduleOptions(group="Поток 7", education_direction="Массаж"))
    return deal


@pytest.mark.parametrize(("lang", "none", "unchanged", "title"), [
    ("ru", "Без изменений", "Изменений нет — график остался прежним", "было → стало"),
    ("en", "No changes", "Nothing changed: the plan stays as it was", "was → becomes"),
])
def test_an_untouched_last_day_plan_with_down_payment_and_fee_rebuilds_unchanged(
        open_demo, last_day_plan, artifacts, lang, none, unchanged, title):
    page, form = open_rebuild(open_demo, NEW_LEAD, lang)
    expect(form.locator('[data-changes="none"]')).to_contain_text(none)
    expect(form.locator('[name="due_day"]')).to_have_value("last")
    expect(form.locator('[name="rounding"]')).to_have_value("100")
    expect(form.locator('[name="down_payment.amount"]')).to_have_value("10000.00")
    expect(form.locator('[data-row-of="extra_charges"] [data-name="label"]')).to_have_value("Госпошлина")
    if lang == "ru":
        assert preview_lines(form) == active_lines(NEW_LEAD)
    form.screenshot(path=str(artifacts / f"rebuild-unchanged-last-day-{lang}.png"))
    save_and_expect_no_new_version(page, form, NEW_LEAD, unchanged)

    panel(page).locator('[data-payplan-action="schedule"]').click()
    form = dialog(page, "schedule")
    expect(form.locator('[data-changes="none"]')).to_be_visible()
    form.locator('[data-row-of="extra_charges"] [data-name="amount"]').fill("2000")
    changes = form.locator('[data-changes="some"]')
    expect(changes).to_contain_text(title)
    expect(changes.locator(".payplan-change--changed")).to_have_count(1)
    expect(changes.locator(".payplan-change--changed [data-was]")).to_contain_text(re.compile(r"1[\s,]500"))
    expect(changes.locator(".payplan-change--changed [data-becomes]")).to_contain_text(re.compile(r"2[\s,]000"))
    expect(changes.locator('[data-change-field="total"]')).to_be_visible()
    form.screenshot(path=str(artifacts / f"rebuild-changed-last-day-{lang}.png"))


def test_a_plan_saved_before_full_requests_opens_unchanged_after_the_migration(open_demo):
    migration = __import__("billing.migrations.0006_c1_full_plan_requests", fromlist=["fill_requests"])
    Schedule.objects.filter(deal__external_id=LEGACY_LEAD).update(request={"demo": True})
    migration.fill_requests(apps, None)
    page, form = open_rebuild(open_demo, LEGACY_LEAD)
    expect(form.locator('[data-changes="none"]')).to_be_visible()
    # 120 000 in 12 equal parts: every rounding unit gives these lines, so the plainest one is read back.
    expect(form.locator('[name="installments_count"]')).to_have_value("12")
    expect(form.locator('[data-row-of="extra_charges"] [data-name="label"]')).to_have_value("Госпошлина")
    assert preview_lines(form) == active_lines(LEGACY_LEAD)
    save_and_expect_no_new_version(page, form, LEGACY_LEAD, "Изменений нет — график остался прежним")


@pytest.mark.parametrize(("lang", "words", "never"), [
    ("ru", {"pay": "Провести выплату", "debt": "Осталось выплатить", "paid": "Выплачено",
            "saved": "Выплата проведена"}, ("Клиент заплатил", "Оплата офлайн", "Долг")),
    ("en", {"pay": "Record a payout", "debt": "Left to pay out", "paid": "Paid out",
            "saved": "Payout recorded"}, ("The client paid", "Offline payment", "Debt")),
])
def test_a_payout_plan_speaks_of_payouts(open_demo, artifacts, lang, words, never):
    page = open_demo(lead=PAYOUT_LEAD, lang=lang)
    card = panel(page)
    expect(card.locator('[data-payplan-action="payment"]')).to_have_text(words["pay"])
    expect(card.locator(".payplan-figure--debt dt")).to_have_text(words["debt"])
    expect(card.locator('[data-figure="paid"]').locator("xpath=preceding-sibling::dt")).to_have_text(words["paid"])
    expect(card.locator('[data-payplan-action="invoice"]')).to_have_count(0)
    for phrase in never:
        assert phrase not in card.inner_text()

    card.locator('[data-payplan-action="full"]').click()
    full = dialog(page, "full")
    expect(full).to_be_visible()
    for phrase in never:
        assert phrase not in full.inner_text()
    full.locator('[data-payplan-action="cancel"]').click()

    card.locator('[data-payplan-action="payment"]').click()
    form = dialog(page, "payment")
    expect(form.locator(".payplan-dialog__title")).to_have_text(words["pay"])
    for phrase in never:
        assert phrase not in form.inner_text()
    form.locator('[name="amount"]').fill("150000")
    form.screenshot(path=str(artifacts / f"payout-dialog-{lang}.png"))
    form.locator('[data-payplan-action="save"]').click()
    expect(dialog(page, "payment")).to_have_count(0)
    expect(card.locator(".payplan-flash")).to_contain_text(words["saved"])
    expect(card.locator(".payplan-line").first).to_contain_text(words["paid"])
    card.locator('[data-payplan-section="payments"] [data-payplan-action="toggle"]').click()
    expect(card.locator('[data-payplan-action="receipt"]')).to_have_count(0)
    for phrase in never:
        assert phrase not in card.inner_text()
    page.locator("#card-widgets").screenshot(path=str(artifacts / f"payout-panel-{lang}.png"))
    assert Payment.objects.filter(deal__external_id=PAYOUT_LEAD).count() == 1
