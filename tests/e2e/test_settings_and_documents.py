"""The settings page keeps what it does not change, edits document templates, and the card reaches every
document: Chromium against the demo, in Russian and English."""
import json
import re

import pytest
from django.db.models import F
from playwright.sync_api import expect

from billing.dunning.models import DunningPolicy
from billing.models import Account, Installment
from billing.services.accounts import account_settings_patch
from widget_api.account_settings import account_settings_get

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCHOOL_LEAD = 17651  # active: a partly paid first line
NEW_LEAD = 17658  # no plan yet
TEXTS = {
    "ru": {"saved": "Сохранено", "preparing": "Документ готовится…", "contract": "Договор",
           "offer": "Коммерческое предложение", "schedule": "График платежей (PDF)", "default": "стандартный шаблон",
           "custom": "свой шаблон", "will_issue": "Будет выставлен счёт на {amount} (остаток по платежу №{seq})",
           "vat": "НДС 10/110 (расчётная ставка)", "zone": "Новосибирск (UTC+7)", "save": "Сохранить"},
    "en": {"saved": "Saved", "preparing": "The document is being prepared…", "contract": "Contract",
           "offer": "Commercial offer", "schedule": "Payment schedule (PDF)", "default": "standard template",
           "custom": "own template", "will_issue": "An invoice for {amount} will be issued (the remainder of payment "
                                                   "No. {seq})",
           "vat": "VAT 10/110 (calculated rate)", "zone": "Novosibirsk (UTC+7)", "save": "Save"},
}
STORED = {
    "completed_stage": {"pipeline_id": 1113, "status_id": 142},
    "custom_fields": {"total": 512341, "received": 512342, "debt": 512343, "payments_count": None,
                      "monthly_payment": None, "last_payment_day": None, "group": 512347,
                      "education_direction": None},
    "task_user_id": None,
    "invoice_lead_days": 4,
    "time_zone": "Asia/Novosibirsk",
    "requisites": {"company_name": "ООО «Школа красоты»", "inn": "7701234567", "kpp": "770101001",
                   "ogrn": "1027700132195", "address": "Москва, ул. Ленина, 1", "bank_name": "ПАО Сбербанк",
                   "bik": "044525225", "bank_account": "40702810900000000001",
                   "correspondent_account": "30101810400000000225", "email": "pay@school.example",
                   "phone": "+7 495 000-00-00", "director": "Иванов Иван Иванович",
                   "accountant": "Петрова Полина Петровна"},
    "reminders": [{"day": -3, "action": "client_email"}, {"day": 2, "action": "manager_task"}],
    "receipts": {"enabled": True, "inn": "7701234567", "taxation_system": 2, "vat": 110, "item_label": "Обучение",
                 "method": 3, "object": 4},
}
# What the server derives or keeps write-only: not a field of the form.
DERIVED = {"crm", "cloudpayments", "yookassa", "requisites_missing", "registration_url"}  # keys: their own checks


def text(locator) -> str:
    return locator.inner_text().replace("\xa0", " ").replace("\u202f", " ").strip()


def settings_of(account) -> dict:
    body = json.loads(json.dumps(account_settings_get(account=Account.objects.get(pk=account.pk)), default=str))
    return {key: value for key, value in body.items() if key not in DERIVED}


def form_names(settings: dict, shown: set[str]) -> set[str]:
    """The form field each stored setting needs: objects by key, the reminder ladder as rows."""
    names = set()
    for key, value in settings.items():
        if key == "completed_stage" and key in shown:
            names.add(key)  # one pick-list of pipeline → stage, when amoCRM's lists are there
        elif key == "reminders":
            names.update(f"reminders.{index}.{part}" for index in range(len(value)) for part in ("day", "action"))
        elif key == "plan_autostart":
            # the trigger stage is one pick-list; a template value read from a source is a source and a value
            names.update({"plan_autostart.enabled", "plan_autostart.stage", "plan_autostart.gate.enabled",
                          "plan_autostart.gate.status_ids"})
            names.update(f"plan_autostart.template.{inner}.source" if isinstance(item, dict) and "source" in item
                         else f"plan_autostart.template.{inner}" for inner, item in value["template"].items())
        elif isinstance(value, dict):
            for inner, item in value.items():
                if isinstance(item, list) and item and all(isinstance(row, dict) for row in item):
                    # rows of a list (the sign-up form's programmes): one field per key of each row
                    names.update(f"{key}.{inner}.{index}.{part}" for index, row in enumerate(item) for part in row)
                else:
                    names.add(f"{key}.{inner}")
        else:
            names.add(key)
    return names


@pytest.fixture
def stored(demo):
    # The old reminder list is read (and editable) only while the account has no collections ladder of its own.
    DunningPolicy.objects.filter(account=demo).delete()
    account_settings_patch(account=demo, changes=STORED)
    # A key another part keeps in the settings JSON: the settings service refuses it, the page must keep it.
    Account.objects.filter(pk=demo.pk).update(
        settings={**Account.objects.get(pk=demo.pk).settings, "kept_by_another_part": {"a": 1}})
    return demo


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_saving_after_one_change_keeps_every_other_setting(open_demo, stored, lang, artifacts):
    before = settings_of(stored)
    page = open_demo(area="settings", lang=lang)
    sent = []
    page.on("request", lambda request: sent.append((request.method, request.post_data))
            if request.url.endswith("/api/v1/account/settings") and request.method != "GET" else None)
    block = page.locator(".payplan-account")
    expect(block.locator('[name="requisites.director"]')).to_have_value("Иванов Иван Иванович")
    names = set(block.locator("[name]").evaluate_all("(fields) => fields.map((field) => field.name)"))
    assert form_names(before, names) <= names, form_names(before, names) - names  # every setting has its field
    assert {"yookassa.shop_id", "yookassa.secret_key"} <= names  # the write-only keys: a field, never a value
    expect(block.locator('[name="requisites.accountant"]')).to_have_value("Петрова Полина Петровна")
    expect(block.locator('[name="receipts.vat"] option:checked')).to_have_text(TEXTS[lang]["vat"])
    expect(block.locator('[name="time_zone"] option:checked')).to_have_text(TEXTS[lang]["zone"])
    vat_words = block.locator('[name="receipts.vat"] option').all_inner_texts()
    assert not [word for word in vat_words if re.fullmatch(r"\d+", word.strip())], vat_words
    assert any("UTC+3" in zone for zone in block.locator('[name="time_zone"] option').all_inner_texts())
    expect(page.get_by_role("button", name=TEXTS[lang]["save"], exact=True)).to_have_count(1)

    block.locator('[name="requisites.director"]').fill("Сидоров Семён Семёнович")
    page.locator("[data-demo-save]").click()

    expect(block.locator("[data-account-result]")).to_have_text(TEXTS[lang]["saved"])
    page.screenshot(path=str(artifacts / f"settings-round-trip-{lang}.png"), full_page=True)
    after = settings_of(stored)
    assert after == {**before, "requisites": {**before["requisites"], "director": "Сидоров Семён Семёнович"}}
    assert Account.objects.get(pk=stored.pk).settings["kept_by_another_part"] == {"a": 1}
    assert stored.cloudpayments_api_secret == Account.objects.get(pk=stored.pk).cloudpayments_api_secret
    assert sent == [("PATCH", json.dumps({"requisites": {"director": "Сидоров Семён Семёнович"}},
                                         ensure_ascii=False, separators=(",", ":")))]

    page.locator("[data-demo-save]").click()  # nothing changed since: nothing is sent
    expect(block.locator("[data-account-result]")).not_to_have_text(TEXTS[lang]["saved"])
    assert len(sent) == 1


def test_a_new_time_zone_and_vat_rate_are_saved_from_their_pick_lists(open_demo, stored):
    page = open_demo(area="settings")
    block = page.locator(".payplan-account")
    block.locator('[name="time_zone"]').select_option(label="Екатеринбург (UTC+5)")
    block.locator('[name="receipts.vat"]').select_option(label="Без НДС")
    page.locator("[data-demo-save]").click()
    expect(block.locator("[data-account-result]")).to_have_text("Сохранено")

    after = settings_of(stored)
    assert after["time_zone"] == "Asia/Yekaterinburg"
    assert after["receipts"] == {**STORED["receipts"], "vat": None}
    assert after["requisites"] == STORED["requisites"]


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_template_is_previewed_saved_refused_with_its_line_and_reset(open_demo, demo, lang, artifacts):
    page = open_demo(area="settings", lang=lang)
    section = page.locator("[data-templates]")
    section.locator("[data-template-kind]").select_option("contract")
    source = section.locator("[data-template-source]")
    expect(section.locator("[data-template-state]")).to_contain_text(TEXTS[lang]["default"])
    expect(source).not_to_have_value("")
    default_source = source.input_value()

    with page.expect_popup() as popup, page.expect_response(re.compile(r"/templates/contract/preview$")) as answer:
        section.locator('[data-payplan-action="template-preview"]').click()
    assert answer.value.status == 200
    assert answer.value.body()[:5] == b"%PDF-"
    expect(popup.value).to_have_url(re.compile(r"^blob:"))
    expect(section.locator("[data-template-result]")).not_to_be_empty()

    source.fill(default_source + "\n{% if %}\n")
    section.locator('[data-payplan-action="template-save"]').click()
    error = section.locator('[data-error-for="source"]')
    expect(error).to_be_visible()
    assert re.search(r"\d", text(error)), text(error)  # the line of the mistake is named
    page.screenshot(path=str(artifacts / f"template-error-{lang}.png"), full_page=True)

    source.fill(default_source.replace("</body>", "<p>Особые условия школы</p></body>"))
    section.locator('[data-payplan-action="template-save"]').click()
    expect(section.locator("[data-template-state]")).to_contain_text(TEXTS[lang]["custom"])
    assert "Особые условия школы" in demo.document_templates.get(kind="contract").source

    section.locator('[data-payplan-action="template-reset"]').click()
    expect(section.locator("[data-template-state]")).to_contain_text(TEXTS[lang]["default"])
    expect(source).to_have_value(default_source)
    assert not demo.document_templates.filter(kind="contract").exists()


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_card_prints_the_contract_offer_and_schedule_and_waits_for_a_big_one(open_demo, page, lang):
    card = open_demo(lead=SCHOOL_LEAD, lang=lang).locator("#payplan-panel")
    documents = card.locator("[data-documents]")
    expect(documents.locator('[data-payplan-action="document"]')).to_have_text(
        [TEXTS[lang]["contract"], TEXTS[lang]["offer"], TEXTS[lang]["schedule"]])
    for kind in ("contract", "schedule"):
        with page.expect_download() as download:
            documents.locator(f'[data-kind="{kind}"]').click()
        assert download.value.suggested_filename.endswith(".pdf")
        with open(download.value.path(), "rb") as pdf:
            assert pdf.read(5) == b"%PDF-"

    queued = []

    def still_rendering(route):
        if not queued:
            queued.append(route.request.url)
            route.fulfill(status=202, headers={"Retry-After": "1", "Content-Type": "application/json"},
                          body='{"status": "rendering", "retry_after": 1}')
        else:
            route.continue_()

    page.route("**/documents/offer.pdf", still_rendering)
    with page.expect_download(timeout=15_000) as download:
        documents.locator('[data-kind="offer"]').click()
        expect(card.locator(".payplan-flash")).to_have_text(TEXTS[lang]["preparing"])
    assert queued
    assert download.value.suggested_filename.endswith(".pdf")


def test_a_deal_without_a_plan_offers_the_contract_and_offer_only(open_demo):
    card = open_demo(lead=NEW_LEAD).locator("#payplan-panel")
    expect(card.locator('[data-payplan-action="document"]')).to_have_text(["Договор", "Коммерческое предложение"])


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_invoice_dialog_says_it_issues_the_remainder_of_a_partly_paid_line(open_demo, lang):
    line = Installment.objects.filter(schedule__deal__external_id=SCHOOL_LEAD, schedule__is_active=True,
                                      paid__gt=0, paid__lt=F("amount")).order_by("seq").first()
    assert line is not None
    assert 0 < line.paid < line.amount
    remainder = line.amount - line.paid
    page = open_demo(lead=SCHOOL_LEAD, lang=lang)
    page.locator('#payplan-panel [data-payplan-action="invoice"]').click()
    dialog = page.locator('.payplan-dialog[data-dialog="invoice"]')
    dialog.locator('[name="installment_seq"]').select_option(str(line.seq))

    whole, cents = f"{remainder:.2f}".split(".")
    grouped = f"{int(whole):,}".replace(",", " " if lang == "ru" else ",")
    amount = f"{grouped},{cents} ₽" if lang == "ru" else f"{grouped}.{cents} ₽"
    statement = dialog.locator("[data-invoice-amount]")
    expect(statement).to_contain_text(f"{line.seq}")
    assert text(statement) == TEXTS[lang]["will_issue"].format(amount=amount, seq=line.seq)

    dialog.locator('[data-payplan-action="save"]').click()
    expect(dialog).to_have_count(0)
    assert line.invoices.get().amount == remainder
