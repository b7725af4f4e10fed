"""What managers read in amoCRM: note and task texts from the gettext catalogue (English source, Russian in
widget_api/locale/ru), money and dates the Russian way. i18n/ru.json keeps what is not a sentence: currency
signs and the names a CRM field may go by."""
import json
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from django.utils.translation import gettext, gettext_noop, pgettext_lazy

I18N_FILE = Path(__file__).resolve().parent / "i18n" / "ru.json"
THIN_SPACE = "\u00a0"

NOTES = {
    "schedule_created": gettext_noop(
        "Payment plan created: total {total}, payments: {count}, monthly {monthly}, last payment {last_due}. Debt: "
        "{debt}."),
    "schedule_changed": gettext_noop(
        "Payment plan changed (version {version}): total {total}, payments: {count}, monthly {monthly}, last payment "
        "{last_due}. Debt: {debt}."),
    "payment_recorded": gettext_noop(
        "Payment received: {amount} ({method}). Paid in total {paid}, debt left {debt}."),
    "payment_recorded_paid": gettext_noop(
        "Payment received: {amount} ({method}). Paid in total {paid}: the debt is fully paid."),
    "payout_recorded": gettext_noop(
        "Payout made: {amount} ({method}). Paid out in total {paid}, left to pay out {debt}."),
    "payout_schedule_created": gettext_noop(
        "Payout plan created: total {total}, payouts: {count}, monthly {monthly}, last payout {last_due}. Left to pay "
        "out: {debt}."),
    "payout_schedule_changed": gettext_noop(
        "Payout plan changed (version {version}): total {total}, payouts: {count}, monthly {monthly}, last payout "
        "{last_due}. Left to pay out: {debt}."),
    "payout_refunded": gettext_noop(
        "Payout of {amount} returned. Paid out in total {paid}, left to pay out {debt}."),
    "invoice_issued": gettext_noop(
        "Invoice No. {number} issued for {amount}, due {due_date}. Payment link: {payment_url} Invoice (PDF): "
        "{pdf_url} Client page (plan and payment): {client_page_url}"),
    "payment_failed": gettext_noop(
        "Payment of invoice No. {number} for {amount} failed: {reason}."),
    "payment_refunded": gettext_noop(
        "Refund of {amount}. Paid in total {paid}, debt left {debt}."),
}
TASKS = {
    "payment_failed": gettext_noop(
        "Payment of invoice No. {number} for {amount} failed ({reason}). Contact the client."),
    "close_outgoing": gettext_noop(
        "All payouts of the deal are made ({total}). Close the deal."),
}
PAYMENT_METHODS = {
    "cash": pgettext_lazy("crm note method", "cash"),
    "bank_transfer": pgettext_lazy("crm note method", "bank transfer"),
    "card_terminal": pgettext_lazy("crm note method", "card, terminal"),
    "cloudpayments": pgettext_lazy("crm note method", "online, CloudPayments"),
    "card_token": pgettext_lazy("crm note method", "card autopayment"),
    "opening_balance": pgettext_lazy("crm note method", "received before the plan"),
    "other": pgettext_lazy("crm note method", "other"),
}


@cache
def catalog() -> dict:
    return json.loads(I18N_FILE.read_text(encoding="utf-8"))


def money_text(amount: Decimal | str | None, currency: str = "RUB") -> str:
    """25000.5 -> '25 000,50 ₽' (the grouping space does not break)."""
    if amount is None:
        return catalog()["none"]
    grouped = f"{Decimal(amount):,.2f}".replace(",", THIN_SPACE).replace(".", ",")
    return f"{grouped}{THIN_SPACE}{catalog()['currency_symbols'].get(currency, currency)}"


def date_text(day: date | str | None) -> str:
    if day is None:
        return catalog()["none"]
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return day.strftime("%d.%m.%Y")


def method_text(method: str) -> str:
    if method in PAYMENT_METHODS:
        return str(PAYMENT_METHODS[method])
    return catalog().get("payment_methods", {}).get(method, method)


def note_text(name: str, **values: object) -> str:
    # Notes added since in i18n/ru.json only (corrections, autopay) are read from there until catalogued.
    template = gettext(NOTES[name]) if name in NOTES else catalog()["notes"][name]
    return template.format(**values)


def task_text(name: str, **values: object) -> str:
    template = gettext(TASKS[name]) if name in TASKS else catalog()["tasks"][name]
    return template.format(**values)


def service_name() -> str:
    return catalog()["service"]


def field_names() -> dict[str, list[str]]:
    return catalog()["field_names"]
