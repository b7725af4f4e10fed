"""In Chromium, Russian and English: a manager builds an open-ended subscription in the plan builder and
pauses it from the card; the analytics page shows the counterparty report and exports it."""
import re
from datetime import timedelta

import openpyxl
import pytest
from playwright.sync_api import expect

from billing.models import Installment, Schedule
from billing.time import account_today

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
NEW_LEAD = 17658  # demo: no plan yet
TEXTS = {
    "ru": {"kind": "Подписка (бессрочно)", "paused": "На паузе", "report": "Отчёт по контрагентам",
           "recipient": "Олег Кузнецов", "sheet": "По контрагентам", "contract_col": "Договор"},
    "en": {"kind": "Subscription (open-ended)", "paused": "Paused", "report": "Counterparty report",
           "recipient": "Олег Кузнецов", "sheet": "By counterparty", "contract_col": "Contract"},
}


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_subscription_is_built_paused_from_the_card_and_counterparties_are_reported(
        open_demo, demo, artifacts, lang):
    words = TEXTS[lang]
    page = open_demo(lead=NEW_LEAD, lang=lang)
    panel = page.locator("#payplan-panel")
    panel.locator('[data-payplan-action="schedule"]').click()
    form = page.locator('.payplan-dialog[data-dialog="schedule"]')
    expect(form).to_be_visible()
    form.locator("label.payplan-segmented__item", has_text=words["kind"]).click()
    expect(form.locator('[name="total"]')).to_be_hidden()
    first = account_today(demo)  # the first period has begun: a pause keeps it, drops the rest
    form.locator('[name="recurring_price"]').fill("4500")
    form.locator('[name="recurring_period"]').select_option("week")
    form.locator('[name="every"]').fill("2")
    form.locator('[name="first_due_date"]').fill(first.isoformat())
    form.locator('[name="first_due_date"]').dispatch_event("change")
    expect(form.locator(".payplan-preview-line")).to_have_count(3)
    form.screenshot(path=str(artifacts / f"subscription-builder-{lang}.png"))
    form.locator('[data-payplan-action="save"]').click()
    expect(form).to_have_count(0)

    schedule = Schedule.objects.get(deal__external_id=NEW_LEAD, is_active=True)
    assert (schedule.plan, schedule.request["every"], schedule.request["period"]) == ("recurring", 2, "week")
    dates = list(Installment.objects.filter(schedule=schedule).order_by("seq").values_list("due_date", flat=True))
    assert dates == [first, first + timedelta(days=14), first + timedelta(days=28)]

    box = panel.locator(".payplan-subscription")
    expect(box).to_have_attribute("data-subscription-state", "active")
    expect(box.locator('[data-subscription-action="price"]')).to_be_visible()
    box.locator('[name="subscription_reason"]').fill("Каникулы")
    box.locator('[data-subscription-action="pause"]').click()
    expect(panel.locator(".payplan-subscription")).to_have_attribute("data-subscription-state", "paused")
    expect(panel.locator(".payplan-subscription")).to_contain_text(words["paused"])
    expect(panel.locator('[data-subscription-action="resume"]')).to_be_visible()
    assert Schedule.objects.get(deal__external_id=NEW_LEAD, is_active=True).request["reason"] == "Каникулы"
    panel.screenshot(path=str(artifacts / f"subscription-card-{lang}.png"))

    page = open_demo(area="advanced_settings", lang=lang)
    analytics = page.locator(".payplan-analytics")
    analytics.locator('[name="direction"]').select_option("outgoing")
    report = analytics.locator(".payplan-counterparties")
    expect(report).to_contain_text(words["report"])
    row = report.locator("tbody tr", has_text=words["recipient"])
    expect(row).to_have_count(1)
    expect(report.locator("[data-counterparty-total]")).to_be_visible()
    report.locator('[data-payplan-action="counterparty-group"][data-group-by="contract"]').click()
    expect(report.locator("th", has_text=re.compile(f"^{words['contract_col']}$"))).to_have_count(1)
    report.locator('[data-payplan-action="counterparty-group"][data-group-by="counterparty"]').click()
    expect(report.locator('[data-payplan-action="counterparty-group"].is-active')).to_have_attribute(
        "data-group-by", "counterparty")
    page.screenshot(path=str(artifacts / f"counterparties-{lang}.png"), full_page=True)
    with page.expect_download() as download:
        report.locator('[data-payplan-action="counterparty-export"]').click()
    with open(download.value.path(), "rb") as workbook_file:
        workbook = openpyxl.load_workbook(workbook_file)
    assert workbook.sheetnames == [words["sheet"]]
    cells = [str(cell.value) for row in workbook.active.iter_rows() for cell in row]
    assert words["recipient"] in cells
