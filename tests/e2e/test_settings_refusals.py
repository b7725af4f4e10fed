"""The settings page in Chromium: a setting for something that does not run is refused in Russian beside
its field and nothing is saved; once it can run, the same save goes through."""
import pytest
from playwright.sync_api import expect

from billing.models import Account

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
NO_TERMINAL = ("Чеки отправляются через CloudKassir терминала CloudPayments: сначала подключите CloudPayments.")


def test_receipts_switched_on_without_cloudpayments_are_refused_beside_the_switch(open_demo, demo, artifacts):
    receipts_off = {**demo.settings["receipts"], "enabled": False}
    Account.objects.filter(pk=demo.pk).update(cloudpayments_api_secret="",
                                              settings={**demo.settings, "receipts": receipts_off})
    page = open_demo(area="settings")
    block = page.locator(".payplan-account")
    expect(block.locator('[name="receipts.enabled"]')).not_to_be_checked()
    taxation = block.locator('[name="receipts.taxation_system"] option').all_inner_texts()
    assert "ЕНВД" not in taxation  # abolished in 2021: not offered
    assert "ОСН" in taxation

    block.locator('[name="receipts.enabled"]').check()
    page.locator("[data-demo-save]").click()

    expect(block.locator('[data-error-for="receipts.enabled"]')).to_have_text(NO_TERMINAL)
    expect(block.locator("[data-account-result]")).to_contain_text("не сохранены")
    page.screenshot(path=str(artifacts / "settings-receipts-without-terminal.png"), full_page=True)
    assert Account.objects.get(pk=demo.pk).settings["receipts"] == receipts_off

    block.locator('[name="cloudpayments.api_secret"]').fill("demo-secret-again-1")
    page.locator("[data-demo-save]").click()

    expect(block.locator("[data-account-result]")).to_have_text("Сохранено")
    account = Account.objects.get(pk=demo.pk)
    assert account.settings["receipts"] == {**receipts_off, "enabled": True}
    assert account.cloudpayments_connected
    assert not page.errors


def test_with_a_collections_ladder_the_old_reminder_rows_give_way_to_a_note(open_demo, demo):
    from billing.dunning.models import DunningPolicy

    assert DunningPolicy.objects.filter(account=demo).exists()  # the demo runs its own ladder
    page = open_demo(area="settings")
    block = page.locator(".payplan-account")

    expect(block.locator("[data-reminders-by-ladder]")).to_contain_text("лестнице взыскания")
    expect(block.locator('[data-rows="reminders"]')).to_have_count(0)
    block.locator('[name="requisites.director"]').fill("Сидоров Семён Семёнович")
    page.locator("[data-demo-save]").click()

    expect(block.locator("[data-account-result]")).to_have_text("Сохранено")
    assert Account.objects.get(pk=demo.pk).settings["requisites"]["director"] == "Сидоров Семён Семёнович"
    assert not page.errors
