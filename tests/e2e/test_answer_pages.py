"""The client's answer pages behind a reminder's links (/r/…): Chromium reads them in the account's language,
or in the one the address asks for (?lang=), every word from the catalogue."""
import re

import pytest
import time_machine
from playwright.sync_api import expect

from billing.dunning.links import answer_links
from billing.dunning.models import ClientAnswer, DunningLine
from tests.dunning.conftest import at, make_account, make_deal, tick

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
TEXTS = {
    "ru": {"paid": "Вы уже оплатили?", "yes": "Да, я оплатил(а)", "thanks": "Спасибо!", "move": "Перенести платёж",
           "when": "Когда вы оплатите?", "amount": "25 000,00 ₽", "due": "05.12.2026"},
    "en": {"paid": "Have you already paid?", "yes": "Yes, I have paid", "thanks": "Thank you!",
           "move": "Move the payment", "when": "When will you pay?", "amount": "25,000.00 ₽", "due": "2026-12-05"},
}


@pytest.fixture
def links(demo):
    account = make_account(31299001, "answers-e2e")
    make_deal(account, name="Client Maria")
    with time_machine.travel(at(account, "2026-12-02 10:00"), tick=False):
        tick(at(account, "2026-12-02 10:00"))
    line = DunningLine.objects.get(deal__account=account, seq=1)
    urls = answer_links(account_id=account.pk, line_id=line.pk)
    return account, {kind: "/" + url.split("/", 3)[3] for kind, url in urls.items()}


def _text(page) -> str:
    return page.locator("main").inner_text().replace("\xa0", " ")


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_answer_pages_read_in_the_account_s_language(page, live_server, links, lang):
    account, paths = links
    account.settings = {**account.settings, "language": lang}
    account.save(update_fields=["settings"])
    words = TEXTS[lang]

    page.goto(live_server.url + paths["postpone"])
    expect(page.locator("h1")).to_have_text(words["move"])
    expect(page.locator("label[for=date]")).to_have_text(words["when"])
    assert words["amount"] in _text(page)
    assert words["due"] in _text(page)
    assert page.locator("html").get_attribute("lang") == lang

    page.goto(live_server.url + paths["paid"])
    expect(page.locator("h1")).to_have_text(words["paid"])
    page.get_by_role("button", name=words["yes"]).click()
    expect(page.locator("h1")).to_have_text(words["thanks"])
    if lang == "en":
        assert not CYRILLIC.search(_text(page)), _text(page)
    assert ClientAnswer.objects.filter(line__deal__account=account, kind="paid").count() == 1


def test_lang_in_the_address_wins_over_the_account_s_language(page, live_server, links):
    _account, paths = links  # a Russian account
    page.goto(live_server.url + paths["paid"] + "?lang=en")
    expect(page.locator("h1")).to_have_text(TEXTS["en"]["paid"])
    assert not CYRILLIC.search(_text(page).replace("Client Maria", "")), _text(page)
