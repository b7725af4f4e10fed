"""[J] The settings page's «Автоматический график» section in Chromium, in Russian: pre-filled with the demo's
trigger stage, template and gate; a change is saved with the one save button (the rules go whole), and an
absurd rate is refused in Russian beside its field with nothing saved."""
import json

import pytest
from playwright.sync_api import expect

from billing.models import Account

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_plan_rules_are_shown_saved_and_refused_beside_their_field(open_demo, demo, artifacts):
    page = open_demo(area="settings")
    sent = []
    page.on("request", lambda request: sent.append(request.post_data)
            if request.url.endswith("/api/v1/account/settings") and request.method == "PATCH" else None)
    section = page.locator("[data-plan-rules]")
    expect(section.locator(".payplan-block__title")).to_have_text("Автоматический график")
    expect(section.locator('[name="plan_autostart.enabled"]')).to_be_checked()
    expect(section.locator('[name="plan_autostart.stage"]')).to_have_value("1113:1113004")
    expect(section.locator('[name="plan_autostart.template.total.source"] option:checked')).to_have_text(
        "Бюджет сделки")
    expect(section.locator('[name="plan_autostart.template.installments_count.value"]')).to_have_value("6")
    expect(section.locator('[name="early_payoff_mode"] option:checked')).to_have_text("Сократить срок")

    page.locator("[data-demo-save]").click()
    expect(page.locator("[data-account-result]")).to_be_visible()
    assert sent == []  # nothing changed, nothing sent

    section.locator('[name="plan_autostart.template.plan"]').select_option(label="Аннуитет (с процентами)")
    section.locator('[name="plan_autostart.template.annual_rate.value"]').fill("2000")
    page.locator("[data-demo-save]").click()
    error = section.locator('[data-error-for="plan_autostart.template.annual_rate"]')
    expect(error).to_have_text("Процентная ставка — от 0 до 1000 % годовых.")
    assert Account.objects.get(pk=demo.pk).settings["plan_autostart"]["template"]["plan"] == "equal"

    section.locator('[name="plan_autostart.template.annual_rate.value"]').fill("12,5")
    section.locator('[name="plan_autostart.template.fees"]').fill("Госпошлина; 4 000")
    section.locator('[name="early_payoff_mode"]').select_option(label="Уменьшить платежи")
    page.locator("[data-demo-save]").click()
    expect(page.locator("[data-account-result]")).to_have_text("Сохранено")
    section.screenshot(path=str(artifacts / "settings-plan-rules.png"))
    patch = json.loads(sent[-1])
    assert set(patch) == {"plan_autostart", "early_payoff_mode"}
    stored = Account.objects.get(pk=demo.pk).settings
    assert stored["early_payoff_mode"] == "lower"
    template = stored["plan_autostart"]["template"]
    assert (template["plan"], template["annual_rate"]) == ("annuity", {"source": "fixed", "value": "12.5"})
    assert template["fees"] == [{"label": "Госпошлина", "amount": {"source": "fixed", "value": "4000.00"}}]
