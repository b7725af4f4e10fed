"""The deal card in Chromium (ru and en): the client's saved card with its expiry, and the manager
switching autopay off."""
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import Deal, SavedCard, Schedule
from billing.services.autopay import token_digest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCHOOL_LEAD = 17651  # the demo's active plan

TEXTS = {
    "ru": {"card": "карта *4242, до 09/28", "on": "включён", "off": "отключён", "button": "Отключить автоплатёж",
           "confirm": "Точно отключить? Нажмите ещё раз", "flash": "Автоплатёж отключён"},
    "en": {"card": "card *4242, valid till 09/28", "on": "on", "off": "off", "button": "Switch autopay off",
           "confirm": "Sure? Click again to switch off", "flash": "Autopay is off"},
}


def saved_card(account) -> SavedCard:
    deal = Deal.objects.get(account=account, external_id=SCHOOL_LEAD)
    Schedule.objects.filter(deal=deal, is_active=True).update(autopay=True)
    return SavedCard.objects.create(
        account=account, deal=deal, token="tk_demo_4242", token_digest=token_digest("tk_demo_4242"),
        public_id=account.cloudpayments_public_id, gateway_account_id=str(SCHOOL_LEAD), card_first_six="424242",
        card_last_four="4242", card_exp="09/28", card_type="Visa", status="active",
        consent_text="Согласен на автоплатёж", consented_at=timezone.now(), consent_source="invoice_link")


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_card_shows_the_saved_card_and_the_manager_switches_autopay_off(open_demo, demo, lang, artifacts):
    card = saved_card(demo)
    words = TEXTS[lang]
    page = open_demo(lead=SCHOOL_LEAD, lang=lang)
    block = page.locator("#payplan-panel [data-autopay]")
    expect(block).to_have_attribute("data-autopay", "active")
    expect(block.locator("[data-autopay-card]")).to_have_text(words["card"])
    expect(block.locator("[data-autopay-state]")).to_have_text(words["on"])
    button = block.locator('[data-payplan-action="autopay-off"]')
    expect(button).to_have_text(words["button"])
    block.screenshot(path=str(artifacts / f"autopay-card-{lang}.png"))

    button.click()  # the first click only asks
    expect(button).to_have_text(words["confirm"])
    card.refresh_from_db()
    assert card.status == "active"
    button.click()

    expect(block).to_have_attribute("data-autopay", "disabled")
    expect(block.locator("[data-autopay-state]")).to_have_text(words["off"])
    expect(block.locator('[data-payplan-action="autopay-off"]')).to_have_count(0)
    expect(page.locator("#payplan-panel .payplan-flash")).to_contain_text(words["flash"])
    card.refresh_from_db()
    assert card.status == "disabled"
    assert card.disabled_by.startswith("manager:")
