"""In Chromium [J]: the plan builder offers annuity and differentiated plans, the preview shows principal
and interest per line with the interest over the term and the effective rate, the saved plan reopens
unchanged, and changing the rate shows «было → стало» with the interest of each line."""
import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.models import Installment, Schedule

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NEW_LEAD = 17658  # demo: no plan yet


def panel(page):
    return page.locator("#payplan-panel")


def dialog(page, kind: str):
    return page.locator(f'.payplan-dialog[data-dialog="{kind}"]')


def test_a_manager_builds_an_annuity_sees_the_interest_and_rebuilds_it_unchanged(open_demo, artifacts):
    page = open_demo(lead=NEW_LEAD, lang="ru")
    panel(page).locator('[data-payplan-action="schedule"]').click()
    form = dialog(page, "schedule")
    expect(form).to_be_visible()
    form.locator('label:has(input[name="plan"][value="annuity"])').click()
    expect(form.locator("[data-interest-terms]")).to_be_visible()
    first = date(date.today().year + 1, 2, 1).isoformat()
    form.locator('[name="total"]').fill("100000")
    form.locator('[name="installments_count"]').fill("12")
    form.locator('[name="first_due_date"]').fill(first)
    form.locator('[name="day_count"]').select_option("30/360")
    form.locator('[name="annual_rate"]').fill("12")
    expect(form.locator('[data-preview="interest"]')).to_have_text(re.compile(r"6\s618,53"))
    expect(form.locator('[data-preview="effective-rate"]')).to_contain_text("%")
    first_row = form.locator(".payplan-preview-line").first
    expect(first_row.locator("[data-interest]")).to_have_text(re.compile(r"1\s000,00"))
    expect(first_row.locator("[data-principal]")).to_have_text(re.compile(r"7\s884,88"))
    form.screenshot(path=str(artifacts / "interest-annuity-preview.png"))
    form.locator('[data-payplan-action="save"]').click()
    expect(dialog(page, "schedule")).to_have_count(0)
    schedule = Schedule.objects.get(deal__external_id=NEW_LEAD, is_active=True)
    assert schedule.plan == "annuity"
    assert Installment.objects.get(schedule=schedule, seq=2).interest == Decimal("921.15")
    expect(panel(page).locator(".payplan-line [data-interest]").first).to_contain_text("проценты")

    panel(page).locator('[data-payplan-action="schedule"]').click()
    form = dialog(page, "schedule")
    expect(form.locator('[data-changes="none"]')).to_be_visible()
    expect(form.locator('input[name="plan"][value="annuity"]')).to_be_checked()
    expect(form.locator('[name="annual_rate"]')).to_have_value("12")
    expect(form.locator('[name="day_count"]')).to_have_value("30/360")
    form.locator('[name="annual_rate"]').fill("10")
    changes = form.locator('[data-changes="some"]')
    expect(changes).to_contain_text("было → стало")
    expect(changes.locator(".payplan-change--changed [data-was]").first).to_contain_text("проценты")
    form.screenshot(path=str(artifacts / "interest-annuity-rebuild.png"))
