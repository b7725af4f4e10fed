"""In Chromium, Russian and English: an admin uploads a 1C statement on the analytics page, sees the match with
its confidence and reason, confirms the exact ones; a broken file is refused with its line."""
import pytest
from django.db.models import F
from playwright.sync_api import expect

from billing.domain.bank_statement import render_statement
from billing.models import Deal, Installment, Payment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
TEXTS = {"ru": {"title": "Импорт выписки", "exact": "Подтвердить точные", "done": "Подтверждено", "line": "Строка",
                "reason": "номер договора"},
         "en": {"title": "Statement import", "exact": "Confirm exact", "done": "Confirmed", "line": "Line",
                "reason": "contract number"}}


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_statement_upload_preview_and_confirm_exact(open_demo, demo, artifacts, tmp_path, lang):
    words = TEXTS[lang]
    our = demo.settings["requisites"]["bank_account"]
    line = (Installment.objects.filter(schedule__deal__account=demo, schedule__is_active=True,
                                       schedule__deal__direction="incoming", schedule__deal__cancelled_at__isnull=True,
                                       paid__lt=F("amount")).order_by("due_date").select_related("schedule__deal")
            .first())
    deal = line.schedule.deal
    Deal.objects.filter(pk=deal.pk).update(contract_number="Д-2026-000777", client_inn="5012000004")
    documents = [
        {"Номер": "512", "Дата": "20.11.2026", "Сумма": str(line.amount - line.paid),
         "ПлательщикСчет": "40702810600000000002", "ПлательщикИНН": "5012000004", "ПолучательСчет": our,
         "ДатаПоступило": "20.11.2026", "НазначениеПлатежа": "Оплата по договору № Д-2026-000777"},
        {"Номер": "77", "Дата": "20.11.2026", "Сумма": "999.00", "ПлательщикСчет": "40702810600000000003",
         "ПолучательСчет": our, "ДатаПоступило": "20.11.2026", "НазначениеПлатежа": "Возврат займа"},
    ]
    good = tmp_path / "kl_to_1c.txt"
    good.write_bytes(render_statement([our], documents).encode("cp1251"))
    broken = tmp_path / "broken.txt"
    broken.write_bytes(good.read_bytes().replace("КонецФайла".encode("cp1251"), b""))

    page = open_demo(area="advanced_settings", lang=lang)
    block = page.locator(".payplan-bank-import")
    expect(block).to_contain_text(words["title"])
    block.locator('[name="bank_statement_file"]').set_input_files(str(broken))
    block.locator('[data-payplan-action="bank-import-upload"]').click()
    expect(block.locator("[data-bank-import-error]")).to_contain_text(words["line"])

    block.locator('[name="bank_statement_file"]').set_input_files(str(good))
    block.locator('[data-payplan-action="bank-import-upload"]').click()
    expect(block.locator("tbody tr")).to_have_count(2)
    matched = block.locator("tbody tr", has_text="512")
    expect(matched).to_contain_text(words["reason"])
    block.screenshot(path=str(artifacts / f"bank-import-preview-{lang}.png"))
    block.locator('[data-payplan-action="bank-import-confirm-exact"]').click()
    expect(matched).to_contain_text(words["done"])
    expect(block.locator("tbody tr", has_text="999")).to_contain_text(
        "Пропустить" if lang == "ru" else "Skip")
    payment = Payment.objects.get(deal=deal, method="bank_transfer", bank_document__isnull=False)
    assert payment.amount == line.amount - line.paid
    assert payment.bank_document.number == "512"
