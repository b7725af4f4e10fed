"""In Chromium, in Russian: an admin downloads the payment template, uploads an Excel sheet with a good and a bad
row, sees the bad one named by row and column, confirms the good one, reverses it (storno) and records it on
another deal picked by hand."""
import io
from datetime import timedelta

import pytest
from django.db.models import F
from openpyxl import load_workbook
from playwright.sync_api import expect

from billing.models import BankDocument, Installment, Payment
from billing.time import account_today

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def open_deals(account):
    lines = (Installment.objects.filter(schedule__deal__account=account, schedule__is_active=True,
                                        schedule__deal__direction="incoming", schedule__deal__cancelled_at__isnull=True,
                                        paid__lt=F("amount")).order_by("due_date").select_related("schedule__deal"))
    deals = []
    for line in lines:
        if line.schedule.deal not in deals:
            deals.append(line.schedule.deal)
    return deals[0], deals[1]


def test_excel_import_preview_confirm_storno_and_manual_pick(open_demo, demo, artifacts, tmp_path):
    first, second = open_deals(demo)
    page = open_demo(area="advanced_settings", lang="ru")
    block = page.locator(".payplan-bank-import")
    expect(block).to_contain_text("Платежи из Excel или CSV")

    with page.expect_download() as download_info:
        block.locator('[data-payplan-action="sheet-import-template"][data-format="xlsx"]').click()
    template = tmp_path / "template.xlsx"
    download_info.value.save_as(str(template))
    book = load_workbook(str(template))
    sheet = book.active
    assert [cell.value for cell in sheet[1]] == ["ID сделки", "Номер договора", "Сумма", "Дата оплаты",
                                                 "Способ оплаты", "Комментарий"]
    yesterday = account_today(demo) - timedelta(days=1)
    for column, value in enumerate([first.external_id, None, 1234.5, yesterday, "Банковский перевод", "п/п 15"], 1):
        sheet.cell(row=2, column=column, value=value)
    sheet.append([first.external_id, None, "сто рублей", yesterday.strftime("%d.%m.%Y"), None, None])
    out = io.BytesIO()
    book.save(out)
    filled = tmp_path / "платежи.xlsx"
    filled.write_bytes(out.getvalue())

    block.locator('[name="payment_sheet_file"]').set_input_files(str(filled))
    block.locator('[data-payplan-action="sheet-import-upload"]').click()
    expect(block.locator("tbody tr")).to_have_count(1)
    expect(block.locator("[data-sheet-import-row-errors]")).to_contain_text("Строка 3, столбец «Сумма»")
    row = block.locator("tbody tr").first
    expect(row).to_contain_text("1 234,50")
    expect(row).to_contain_text("в строке указан ID сделки")
    block.screenshot(path=str(artifacts / "sheet-import-preview-ru.png"))

    block.locator('[data-payplan-action="bank-import-confirm-exact"]').click()
    expect(row).to_contain_text("Подтверждено")
    payment = Payment.objects.get(deal=first, bank_document__isnull=False)
    assert (str(payment.amount), payment.bank_document.row) == ("1234.50", 2)

    row.locator('[name="reverse_reason"]').fill("не та сделка")
    row.locator('[data-payplan-action="sheet-import-reverse"]').click()
    expect(row).to_contain_text("платёж сторнирован")
    assert Payment.objects.get(reversal_of=payment).amount == -payment.amount

    row.locator('[name="pick_value"]').fill(str(second.external_id))  # the pick-list: search, then choose
    row.locator('[data-payplan-action="sheet-import-search"]').click()
    expect(row.locator('[name="pick_candidate"]')).to_be_visible()
    expect(row.locator('[name="pick_candidate"] option')).to_have_count(1)
    row.locator('[data-payplan-action="sheet-import-pick"]').click()
    expect(row).to_contain_text("Подтверждено")
    expect(row).to_contain_text(second.name or second.contact_name or f"#{second.external_id}")
    moved = BankDocument.objects.get(row=2).payment
    assert (moved.deal_id, moved.amount) == (second.pk, payment.amount)
    block.screenshot(path=str(artifacts / "sheet-import-storno-ru.png"))
