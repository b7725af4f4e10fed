"""The settings page's client sections in Chromium, in Russian: the language of client texts, the days a
proposal waits, autopay retries and consent, and the sign-up form (programmes, consent, embedding sites, its
link). Filled, saved with the one save button, read again after a reload; nothing else is touched, and a
refusal is shown in Russian beside its field with nothing saved."""
import json
import re

import pytest
from playwright.sync_api import expect

from billing.client_links import registration_account_id, registration_url
from billing.models import Account
from widget_api.account_settings import account_settings_get

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CLIENT_KEYS = {"language", "proposal_expiry_days", "autopay_retry_days", "autopay_consent_text",
               "client_registration"}


def settings_of(account) -> dict:
    body = json.loads(json.dumps(account_settings_get(account=Account.objects.get(pk=account.pk)), default=str))
    return {key: value for key, value in body.items() if key not in {"crm", "cloudpayments", "registration_url"}}


def test_client_sections_are_filled_saved_and_read_back_after_a_reload(open_demo, demo, artifacts):
    before = settings_of(demo)
    assert before["client_registration"]["enabled"] is True  # the demo's form: two programmes
    page = open_demo(area="settings")
    sent = []
    page.on("request", lambda request: sent.append(request.post_data)
            if request.url.endswith("/api/v1/account/settings") and request.method == "PATCH" else None)
    block = page.locator(".payplan-account")

    # Pre-filled from what the server keeps.
    expect(block.locator('[name="language"] option:checked')).to_have_text("Русский")
    expect(block.locator('[name="proposal_expiry_days"]')).to_have_value("7")
    expect(block.locator('[name="autopay_retry_days"]')).to_have_value("1, 3")
    expect(block.locator('[name="client_registration.enabled"]')).to_be_checked()
    programmes = block.locator('[data-row-of="client_registration.templates"]')
    expect(programmes).to_have_count(2)
    expect(block.locator('[name="client_registration.templates.1.title"]')).to_have_value("Курс «Массаж»")
    expect(block.locator('[name="client_registration.consent_text"]')).to_have_value(
        demo.settings["client_registration"]["consent_text"])
    link = block.locator("#payplan-cs-registration_link")
    expect(link).to_have_value(re.compile(r"/register/"))
    url = link.input_value()
    assert url.startswith(registration_url(demo.pk).rsplit("/", 1)[0] + "/")  # signed anew each second
    assert registration_account_id(url.rsplit("/", 1)[1]) == demo.pk
    expect(block.locator("#payplan-cs-registration_embed")).to_have_value(
        f'<iframe src="{url}" title="Запись на обучение" style="width:100%;min-height:760px;border:0" '
        f'loading="lazy"></iframe>')
    block.locator('[data-payplan-action="cs-copy"][data-copy="link"]').click()
    expect(block.locator("[data-cs-copy-result]")).not_to_be_empty()
    expect(page.get_by_role("button", name="Сохранить", exact=True)).to_have_count(1)

    # Saving without a change sends nothing.
    page.locator("[data-demo-save]").click()
    expect(block.locator("[data-account-result]")).to_be_visible()
    assert sent == []

    block.locator('[name="language"]').select_option(label="English (английский)")
    block.locator('[name="proposal_expiry_days"]').fill("10")
    block.locator('[name="autopay_retry_days"]').fill("2, 4")
    block.locator('[name="autopay_consent_text.ru"]').fill("Согласен на списания по графику с моей карты.")
    block.locator('[data-payplan-action="cs-programme-add"]').click()
    expect(programmes).to_have_count(3)
    block.locator('[name="client_registration.templates.2.key"]').fill("nails")
    block.locator('[name="client_registration.templates.2.title"]').fill("Курс «Маникюр»")
    block.locator('[name="client_registration.templates.2.total"]').fill("30 000")
    block.locator('[name="client_registration.templates.2.installments_count"]').fill("2")
    block.locator('[name="client_registration.templates.2.period"]').select_option(label="Раз в 2 недели")
    block.locator('[name="client_registration.embed_origins"]').fill("https://school.example\n")
    page.locator("[data-demo-save]").click()

    expect(block.locator("[data-account-result]")).to_have_text("Сохранено")
    page.screenshot(path=str(artifacts / "settings-client-sections.png"), full_page=True)
    assert len(sent) == 1
    patch = json.loads(sent[0])
    assert set(patch) == CLIENT_KEYS  # only what changed, and nothing of the other sections
    assert set(patch["client_registration"]) == {"templates", "embed_origins"}
    assert patch["autopay_consent_text"] == {"ru": "Согласен на списания по графику с моей карты.", "en": ""}

    after = settings_of(demo)
    nails = {"key": "nails", "title": "Курс «Маникюр»", "total": "30000.00", "installments_count": 2,
             "period": "2weeks", "first_due_in_days": 0}
    assert after == {
        **before, "language": "en", "proposal_expiry_days": 10, "autopay_retry_days": [2, 4],
        "autopay_consent_text": {"ru": "Согласен на списания по графику с моей карты.", "en": ""},
        "client_registration": {**before["client_registration"], "embed_origins": ["https://school.example"],
                                "templates": [*before["client_registration"]["templates"], nails]}}

    page = open_demo(area="settings")  # read again: the form shows what was saved
    block = page.locator(".payplan-account")
    expect(block.locator('[name="language"] option:checked')).to_have_text("English (английский)")
    expect(block.locator('[name="proposal_expiry_days"]')).to_have_value("10")
    expect(block.locator('[name="autopay_retry_days"]')).to_have_value("2, 4")
    expect(block.locator('[name="autopay_consent_text.ru"]')).to_have_value(
        "Согласен на списания по графику с моей карты.")
    expect(block.locator('[name="client_registration.templates.2.total"]')).to_have_value("30000.00")
    expect(block.locator('[name="client_registration.templates.2.period"] option:checked')).to_have_text(
        "Раз в 2 недели")
    expect(block.locator('[name="client_registration.embed_origins"]')).to_have_value("https://school.example")
    expect(block.locator('[name="requisites.company_name"]')).to_have_value(before["requisites"]["company_name"])


def test_a_bad_price_and_site_are_refused_in_russian_beside_their_fields_and_nothing_is_saved(open_demo, demo):
    before = settings_of(demo)
    page = open_demo(area="settings")
    block = page.locator(".payplan-account")
    expect(block.locator('[data-row-of="client_registration.templates"]')).to_have_count(2)
    block.locator('[name="client_registration.templates.0.total"]').fill("сто тысяч")
    block.locator('[name="client_registration.embed_origins"]').fill("school.example")
    block.locator('[name="proposal_expiry_days"]').fill("0")
    page.locator("[data-demo-save]").click()

    expect(block.locator('[data-error-for="client_registration.templates.0.total"]')).to_have_text(
        "Нужна сумма в рублях больше нуля, например 160000 или 160000,50.")
    expect(block.locator('[data-error-for="client_registration.embed_origins"]')).to_contain_text("https://school.ru")
    expect(block.locator('[data-error-for="proposal_expiry_days"]')).to_have_text("Нужно целое число от 1 до 90.")
    expect(block.locator("[data-account-result]")).to_contain_text("не сохранены")
    assert settings_of(demo) == before
