"""What managers read in their CRM (amoCRM or Bitrix24): note and task texts from the gettext catalogue
(English source, Russian in crm/locale/ru), money and dates the Russian way. i18n/ru.json keeps what is
not a sentence: currency signs and the names a CRM field may go by."""
import json
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from django.utils.translation import gettext, gettext_noop, pgettext_lazy

from billing import texts as billing_texts

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
    "payout_reversed": gettext_noop(
        "Payout of {amount} ({method}) of {paid_at} reversed. Reason: {reason}. Paid out in total {paid}, "
        "left to pay out {debt}."),
    "payment_refunded_reason": gettext_noop(
        "Refund of {amount} to the card. Reason: {reason}. Paid in total {paid}, debt left {debt}."),
    "payment_reversed": gettext_noop(
        "Payment of {amount} ({method}) of {paid_at} reversed. Reason: {reason}. Paid in total {paid}, debt "
        "left {debt}."),
    "autopay_failed": gettext_noop(
        "Autopayment failed: payment {seq} for {amount}, card *{last_four}, attempts: {attempts}. Reason: "
        "{reason}. The client was sent a payment link (invoice No. {number}): {payment_url}"),
    "autopay_card_stopped": gettext_noop(
        "The bank forbade further charges to card *{last_four}: autopayment by it is turned off."),
    "autopay_enabled": gettext_noop(
        "The client turned on autopayment: card *{last_four}, valid until {card_exp}."),
    "autopay_disabled": gettext_noop(
        "Autopayment turned off (card *{last_four}): {by}."),
    "schedule_proposed": gettext_noop(
        "A new plan was proposed to the client. Waiting for the answer until {expires}. Client page: "
        "{client_page_url}"),
    "proposal_approved": gettext_noop(
        "The client accepted the new plan ({decided_by}, {decided_at}): version {version} is in force."),
    "proposal_declined": gettext_noop(
        "The client declined the proposed plan ({decided_by}, {decided_at}). The previous plan stays in "
        "force."),
    "client_contact_changed": gettext_noop(
        "The client corrected their contact details on their page: {client_name}, {phone}, {email}."),
    "client_registered": gettext_noop(
        "The client signed up through the form: {client_name}, {phone}, {email}; programme “{template}”. "
        "Consent to the processing of personal data received {consent_at}. Client page: {client_page_url}"),
    "payout_summary": gettext_noop(
        "Payouts of the deal: total {total}, paid out {paid} ({paid_count} of {count}), left to pay out "
        "{left}. Updated {updated}."),
}
TASKS = {
    "payment_failed": gettext_noop(
        "Payment of invoice No. {number} for {amount} failed ({reason}). Contact the client."),
    "close_outgoing": gettext_noop(
        "All payouts of the deal are made ({total}). Close the deal."),
    "autopay_failed": gettext_noop(
        "Autopayment of {amount} (payment {seq}) failed: {reason}. The client was sent a payment link. "
        "Contact the client."),
    "proposal_approved": gettext_noop(
        "The client accepted the new plan (version {version}). Check the plan and contact the client."),
    "proposal_declined": gettext_noop(
        "The client declined the proposed plan. Contact the client."),
    "payout_due": gettext_noop(
        "Make the payout of {amount} to {recipient} by {due_date} (payout No. {seq}). Requisites: "
        "{requisites}. Complete the task when the money is sent: PayPlan records the payout itself."),
    "payout_approve": gettext_noop(
        "Approve the automatic payout of {amount} to {recipient} by {due_date} (payout No. {seq}) through "
        "YooKassa to the client's requisites in the widget. Complete the task to approve it: PayPlan sends the "
        "payout and records it when YooKassa confirms it."),
}
AUTOPAY_BY = {
    "manager": pgettext_lazy("autopay turned off", "by the manager"),
    "client": pgettext_lazy("autopay turned off", "by the client"),
    "bank": pgettext_lazy("autopay turned off", "by the bank"),
}
REGISTRATION_LEAD_NAME = gettext_noop("Website application: {name} ({template})")
PAYMENT_METHODS = {
    "cash": pgettext_lazy("crm note method", "cash"),
    "bank_transfer": pgettext_lazy("crm note method", "bank transfer"),
    "card_terminal": pgettext_lazy("crm note method", "card, terminal"),
    "cloudpayments": pgettext_lazy("crm note method", "online, CloudPayments"),
    "yookassa": pgettext_lazy("crm note method", "online, YooKassa"),
    "card_token": pgettext_lazy("crm note method", "card autopayment"),
    "opening_balance": pgettext_lazy("crm note method", "received before the plan"),
    "other": pgettext_lazy("crm note method", "other"),
}


@cache
def catalog() -> dict:
    return json.loads(I18N_FILE.read_text(encoding="utf-8"))


def money_text(amount: Decimal | str | None, currency: str = "RUB") -> str:
    """25000.5 -> '25 000,50 ₽' in Russian, '25,000.50 ₽' in English (the grouping space does not break):
    billing.texts decides, in the active language (the account's: crm_feed runs in it)."""
    if amount is None:
        return catalog()["none"]
    return billing_texts.money_text(Decimal(amount), currency)


def date_text(day: date | str | None) -> str:
    """«05.12.2026» in Russian, «2026-12-05» in English (billing.texts)."""
    if day is None:
        return catalog()["none"]
    return billing_texts.date_text(date.fromisoformat(day) if isinstance(day, str) else day)


def autopay_by_text(by: str) -> str:
    """Who turned autopay off, in words: «менеджером» / "by the manager"."""
    word = AUTOPAY_BY.get(by.split(":")[0])
    return str(word) if word is not None else by


def registration_lead_name(*, name: str, template: str) -> str:
    return gettext(REGISTRATION_LEAD_NAME).format(name=name, template=template)


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
