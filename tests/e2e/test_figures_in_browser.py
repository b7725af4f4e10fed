"""[I] In Chromium, Russian and English: the analytics page shows the cash-in forecast (by week, by month), the
collection rate per manager and each deal's plan progress; the card says how many of its lines are paid."""
import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SCHOOL_LEAD = 17651  # demo: an active plan with money received
TEXTS = {
    "ru": {"forecast": "Прогноз поступлений", "collection": "Собираемость по менеджерам",
           "progress": "Прогресс по графикам", "lines": re.compile(r"\d+ из \d+ оплачено"), "money": "₽"},
    "en": {"forecast": "Cash-in forecast", "collection": "Collection rate by manager",
           "progress": "Plan progress", "lines": re.compile(r"\d+ of \d+ paid"), "money": "₽"},
}


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_asked_for_figures_are_on_the_analytics_page_and_the_card(open_demo, artifacts, lang):
    words = TEXTS[lang]
    page = open_demo(area="advanced_settings", lang=lang)
    block = page.locator(".payplan-analytics .payplan-asked")
    expect(block).to_contain_text(words["forecast"])
    expect(block).to_contain_text(words["collection"])
    expect(block).to_contain_text(words["progress"])
    expect(block.locator(".payplan-table--forecast tbody tr")).to_have_count(13)  # 12 weeks and the total
    block.locator('[data-payplan-action="figures-forecast"][data-forecast="months"]').click()
    expect(block.locator(".payplan-table--forecast tbody tr")).to_have_count(7)  # 6 months and the total
    expect(block.locator(".payplan-table--progress tbody tr").first).to_contain_text(words["lines"])
    expect(block.locator(".payplan-table--progress")).to_contain_text(words["money"])
    page.screenshot(path=str(artifacts / f"asked-figures-{lang}.png"), full_page=True)

    card = open_demo(lead=SCHOOL_LEAD, lang=lang).locator("#payplan-panel")
    expect(card.locator('[data-figure="lines-progress"]')).to_contain_text(words["lines"])
