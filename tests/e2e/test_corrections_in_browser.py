"""Corrections and the live card in the demo amoCRM page: storno, refund to the card, updates without reload."""
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.models import Deal, Invoice, Payment
from tests.e2e import test_widget_in_browser as widget_tests
from tests.e2e.test_widget_in_browser import SCHOOL_LEAD, dialog, panel

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

cloudpayments = widget_tests.cloudpayments  # the loopback CloudPayments sandbox fixture
PAID_LEAD = 17655  # paid in full by card terminal
LIVE_MS = 15_000  # the card polls every 4 s: allow a few rounds
ISSUE_MS = 45_000


def open_payments(page):
    section = panel(page).locator('[data-payplan-section="payments"]')
    if "is-open" not in (section.get_attribute("class") or ""):
        section.locator('[data-payplan-action="toggle"]').click()
    return section


def test_a_cash_payment_is_reversed_with_a_reason_and_the_debt_reopens(open_demo, artifacts):
    page = open_demo(lead=SCHOOL_LEAD)
    expect(panel(page).locator('[data-figure="debt"]')).to_have_text(re.compile(r"135\s000"))
    cash = Payment.objects.get(deal__external_id=SCHOOL_LEAD, method="cash")
    item = open_payments(page).locator(f'.payplan-item[data-payment="{cash.pk}"]')
    item.locator('[data-payplan-action="reverse"]').click()
    form = dialog(page, "correction")
    expect(form).to_contain_text("Сторнировать платёж")
    form.locator('[data-payplan-action="save"]').click()
    expect(form.locator('[data-error-for="reason"]')).to_have_text("Укажите, почему платёж сторнируется.")

    form.locator('[name="reason"]').fill("внесён по ошибке")
    form.locator('[data-payplan-action="save"]').click()

    expect(dialog(page, "correction")).to_have_count(0)
    expect(panel(page).locator(".payplan-flash")).to_contain_text("Платёж сторнирован")
    expect(panel(page).locator('[data-figure="debt"]')).to_have_text(re.compile(r"150\s000"))
    section = open_payments(page)
    original = section.locator(f'.payplan-item[data-payment="{cash.pk}"]')
    expect(original).to_have_class(re.compile(r"\bis-reversed\b"))
    expect(original.locator('[data-payplan-action="reverse"]')).to_have_count(0)
    storno = section.locator('.payplan-item[data-kind="storno"]')
    expect(storno).to_have_count(1)
    expect(storno.locator("[data-correction]")).to_have_text(
        re.compile(r"^Сторно: внесён по ошибке, Анна Менеджер, \d{2}\.\d{2}\.\d{4}$"))
    page.locator("#card-widgets").screenshot(path=str(artifacts / "panel-storno.png"))
    assert Payment.objects.get(reversal_of=cash).amount == -cash.amount
    assert Payment.objects.filter(pk=cash.pk, amount=Decimal("15000")).exists()  # never edited or deleted


@pytest.mark.parametrize(("lang", "paid", "title", "done", "line"), [
    ("ru", "Оплачено", "Сторнировать платёж", "Платёж сторнирован", "Сторно: не та сделка"),
    ("en", "Paid", "Reverse the payment", "Payment reversed", "Storno: not this deal"),
])
def test_reversing_a_full_payment_turns_the_deal_back_from_paid(open_demo, lang, paid, title, done, line):
    page = open_demo(lead=PAID_LEAD, lang=lang)
    expect(panel(page).locator("[data-deal-status]")).to_have_text(paid)
    open_payments(page).locator('[data-payplan-action="reverse"]').first.click()
    form = dialog(page, "correction")
    expect(form).to_contain_text(title)
    form.locator('[name="reason"]').fill(line.split(": ")[1])
    form.locator('[data-payplan-action="save"]').click()
    expect(panel(page).locator(".payplan-flash")).to_contain_text(done)
    expect(panel(page).locator("[data-deal-status]")).not_to_have_text(paid)
    expect(open_payments(page).locator('.payplan-item[data-kind="storno"] [data-correction]')).to_contain_text(line)
    assert Deal.objects.get(external_id=PAID_LEAD).status in ("active", "overdue")


# What the touched flows say, in each language the widget speaks.
WORDS = {
    "ru": {"issued": "выставлен", "declined": "Оплата не прошла: Недостаточно средств",
           "refund_title": "Вернуть деньги на карту", "too_much": "можно вернуть не больше",
           "refunded": "Возврат проведён", "refund_line": "Возврат: {reason}, Анна Менеджер",
           "refunded_part": r"Возвращено 5\s000", "reverse_title": "Сторнировать платёж",
           "reversed": "Платёж сторнирован", "reason_required": "Укажите, почему платёж сторнируется.",
           "storno_line": "Сторно: {reason}, Анна Менеджер", "refund": "Вернуть деньги", "reverse": "Сторнировать"},
    "en": {"issued": "sent", "declined": "Payment declined: Insufficient funds",
           "refund_title": "Refund to the card", "too_much": "can be refunded",
           "refunded": "Refund made", "refund_line": "Refund: {reason}, Анна Менеджер",
           "refunded_part": r"Refunded 5,000", "reverse_title": "Reverse the payment",
           "reversed": "Payment reversed", "reason_required": "Say why the payment is reversed.",
           "storno_line": "Storno: {reason}, Анна Менеджер", "refund": "Refund", "reverse": "Reverse"},
}
LANGUAGES = pytest.mark.parametrize("lang", ["ru", "en"])


def issue_invoice(page, lang: str = "ru") -> Invoice:
    panel(page).locator('[data-payplan-action="invoice"]').click()
    dialog(page, "invoice").locator('[data-payplan-action="save"]').click()
    # Issuing waits for the gateway's order (and, with eager tasks, the relay's effects): not what is tested.
    expect(panel(page).locator(".payplan-flash")).to_contain_text(WORDS[lang]["issued"], timeout=ISSUE_MS)
    return Invoice.objects.filter(deal__external_id=SCHOOL_LEAD).latest("id")


@LANGUAGES
def test_the_open_card_updates_without_reload_when_the_invoice_is_paid_online(open_demo, cloudpayments, lang):
    page = open_demo(lead=SCHOOL_LEAD, lang=lang)
    invoice = issue_invoice(page, lang)
    page.evaluate("window.__sameDocument = true")

    cloudpayments.pay_order(invoice.gateway_order_id)  # the client pays in another window

    expect(panel(page).locator('[data-figure="debt"]')).not_to_have_text(re.compile(r"135\s000|135,000"),
                                                                        timeout=LIVE_MS)
    expect(panel(page).locator(".payplan-chip--paid")).to_have_count(1)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened


@LANGUAGES
def test_a_payment_recorded_elsewhere_shows_in_the_open_card_without_reload(open_demo, demo, lang):
    """Another manager (another tab, the API) records cash: the open card follows within a few polls, and at
    once when the manager comes back to the tab."""
    from tests.conftest import WidgetClient

    page = open_demo(lead=SCHOOL_LEAD, lang=lang)
    expect(panel(page).locator('[data-figure="debt"]')).to_have_text(re.compile(r"135\s000|135,000"))
    page.evaluate("window.__sameDocument = true")
    response = WidgetClient(demo).post(f"/api/v1/deals/{SCHOOL_LEAD}/payments",
                                       {"amount": "5000.00", "method": "cash", "paid_at": "2026-11-20"})
    assert response.status_code == 201, response.content
    page.evaluate("window.dispatchEvent(new Event('focus'))")  # back to the tab: asked at once
    expect(panel(page).locator('[data-figure="debt"]')).to_have_text(re.compile(r"130\s000|130,000"),
                                                                    timeout=LIVE_MS)
    assert page.evaluate("window.__sameDocument") is True


@LANGUAGES
def test_a_declined_payment_shows_on_the_line_with_the_banks_reason_in_plain_words(open_demo, cloudpayments, lang):
    page = open_demo(lead=SCHOOL_LEAD, lang=lang)
    invoice = issue_invoice(page, lang)

    cloudpayments.pay_order(invoice.gateway_order_id, outcome="fail", reason_code=5051)

    failure = panel(page).locator(".payplan-line [data-failure]")
    expect(failure).to_have_text(WORDS[lang]["declined"], timeout=LIVE_MS)
    expect(panel(page).locator(f'[data-invoice="{invoice.number}"] [data-failure]')).to_contain_text(
        WORDS[lang]["declined"].split(": ")[1])


@LANGUAGES
def test_an_online_payment_is_partly_refunded_from_the_card_and_recorded_once(open_demo, cloudpayments, artifacts,
                                                                              lang):
    words = WORDS[lang]
    page = open_demo(lead=SCHOOL_LEAD, lang=lang)
    invoice = issue_invoice(page, lang)
    cloudpayments.pay_order(invoice.gateway_order_id)
    online = Payment.objects.get(deal__external_id=SCHOOL_LEAD, method="cloudpayments")
    item = open_payments(page).locator(f'.payplan-item[data-payment="{online.pk}"]')
    refund_button = item.locator('[data-payplan-action="refund"]')
    expect(refund_button).to_have_text(words["refund"], timeout=LIVE_MS)  # appears once the card has updated
    expect(item.locator('[data-payplan-action="reverse"]')).to_have_count(0)  # online money is refunded
    refund_button.click()
    form = dialog(page, "correction")
    expect(form).to_contain_text(words["refund_title"])
    form.locator('[name="amount"]').fill(str(online.amount + 1))
    form.locator('[name="reason"]').fill("клиент отказался от модуля")
    form.locator('[data-payplan-action="save"]').click()
    expect(form.locator('[data-error-for="amount"]')).to_contain_text(words["too_much"])

    form.locator('[name="amount"]').fill("5000")
    form.locator('[data-payplan-action="save"]').click()

    expect(panel(page).locator(".payplan-flash")).to_contain_text(words["refunded"])
    cloudpayments.wait_for_deliveries(3)  # Check, Pay and the Refund notification
    refund = open_payments(page).locator('.payplan-item[data-kind="refund"]')
    expect(refund).to_have_count(1)
    expect(refund.locator("[data-correction]")).to_contain_text(
        words["refund_line"].format(reason="клиент отказался от модуля"))
    expect(item.locator("[data-refunded]")).to_have_text(re.compile(words["refunded_part"]))
    page.locator("#card-widgets").screenshot(path=str(artifacts / f"panel-refund-{lang}.png"))
    refunds = Payment.objects.filter(refund_of=online)
    assert refunds.count() == 1  # the gateway's answer and its notification are one refund
    assert refunds.get().amount == Decimal("-5000.00")


def test_the_rest_of_an_online_payment_is_refunded_in_full_in_english(open_demo, cloudpayments):
    page = open_demo(lead=SCHOOL_LEAD, lang="en")
    invoice = issue_invoice(page, "en")
    cloudpayments.pay_order(invoice.gateway_order_id)
    online = Payment.objects.get(deal__external_id=SCHOOL_LEAD, method="cloudpayments")
    item = open_payments(page).locator(f'.payplan-item[data-payment="{online.pk}"]')
    item.locator('[data-payplan-action="refund"]').click(timeout=LIVE_MS)
    form = dialog(page, "correction")
    expect(form.locator('[name="amount"]')).to_have_value(f"{online.amount:.2f}")  # the whole by default
    form.locator('[name="reason"]').fill("course cancelled")
    form.locator('[data-payplan-action="save"]').click()
    expect(panel(page).locator(".payplan-flash")).to_contain_text("Refund made")
    cloudpayments.wait_for_deliveries(3)
    expect(item.locator('[data-payplan-action="refund"]')).to_have_count(0)  # nothing left to refund
    assert [refund.amount for refund in Payment.objects.filter(refund_of=online)] == [-online.amount]
