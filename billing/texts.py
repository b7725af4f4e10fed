"""Numbers and words in the messages people read, in the active language: «160 000,00 ₽», «05.12.2026»,
and the schedule engine's default line labels and payment comments translated at the edge.

billing/domain stays pure: it names default lines with fixed English codes (DEFAULT_LABELS); what a
person reads is chosen here, through the gettext catalogue, when a message or a response is made.
"""
import re
from contextlib import AbstractContextManager
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.utils import translation
from django.utils.translation import get_language, gettext, gettext_noop, pgettext_lazy

from billing.domain.money import money
from billing.domain.schedule import DEFAULT_LABELS

NBSP = "\u00a0"
CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€", "KZT": "₸", "BYN": "Br"}

# The engine's default labels (stored on old and new lines alike) and what people read for them.
LABEL_WORDS = {
    DEFAULT_LABELS["down_payment"]: pgettext_lazy("installment label", "Down payment"),
    DEFAULT_LABELS["regular"]: pgettext_lazy("installment label", "Installment"),
    DEFAULT_LABELS["extra"]: pgettext_lazy("installment label", "Extra charge"),
}
KIND_WORDS = {
    "down_payment": pgettext_lazy("installment label", "Down payment"),
    "regular": pgettext_lazy("installment label", "Installment"),
    "extra": pgettext_lazy("installment label", "Extra charge"),
    "fee": pgettext_lazy("installment label", "Penalty"),
}
# Comments PayPlan wrote in English on payments before they were written in the account's language:
# still read through the catalogue.
PAYMENT_COMMENTS = {
    "Received before the plan": gettext_noop("Received before the plan"),
    "Opening balance corrected": gettext_noop("Opening balance corrected"),
}
LEGACY_COMMENT_PATTERNS = (
    (re.compile(r"^Refund of payment (?P<payment>\d+)$"), gettext_noop("Refund of payment %(payment)s")),
    (re.compile(r"^CloudPayments, invoice (?P<number>[\w-]+) \(reconciled\)$"),
     gettext_noop("CloudPayments, invoice %(number)s (reconciled)")),
    (re.compile(r"^CloudPayments, invoice (?P<number>[\w-]+)(?:, card \*(?P<card>\d+))?(?P<test> \(test mode\))?$"),
     None),
)


def account_language(account) -> str:
    """The language of what the account's people and clients read when no browser asks: notes, tasks,
    emails, PDFs, stored comments. Russian unless the account chose English (settings["language"])."""
    chosen = str((getattr(account, "settings", None) or {}).get("language") or "")
    return chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def in_account_language(account) -> AbstractContextManager:
    """`with in_account_language(account):` — texts made inside speak the account's language."""
    return translation.override(account_language(account))


def gateway_payment_comment(*, number: str, card_last_four: str = "", test_mode: bool = False,
                            gateway: str = "cloudpayments", sbp: bool = False) -> str:
    """«CloudPayments, счёт № 2026-000001, карта *4242 (тестовый режим)» in the active language."""
    if gateway == "yookassa":
        text = gettext("YooKassa, invoice %(number)s") % {"number": number}
    else:
        text = gettext("CloudPayments, invoice %(number)s") % {"number": number}
    if sbp:
        text += gettext(", SBP")
    elif card_last_four:
        text += gettext(", card *%(card)s") % {"card": card_last_four}
    if test_mode:
        text += gettext(" (test mode)")
    return text


def _russian() -> bool:
    return (get_language() or "ru").startswith("ru")


def number_text(amount: Decimal | int | str) -> str:
    """160000 -> «160 000,00» (non-breaking spaces) in Russian, «160,000.00» in English: the one place
    that decides how a sum is written, with or without its currency sign."""
    grouped = f"{money(amount):,.2f}"
    if _russian():
        grouped = grouped.replace(",", NBSP).replace(".", ",")
    return grouped


def money_text(amount: Decimal | int | str | None, currency: str = "RUB") -> str:
    """160000 -> «160 000,00 ₽» (non-breaking spaces) in Russian, «160,000.00 ₽» in English."""
    if amount is None or amount == "":
        return "—"
    return f"{number_text(amount)}{NBSP}{CURRENCY_SIGNS.get(currency, currency)}"


def plain_money_text(amount: Decimal | int | str | None, currency: str = "RUB") -> str:
    """money_text with plain spaces: texts sent as they are (SMS, messengers, CRM notes and tasks)."""
    return money_text(amount, currency).replace(NBSP, " ")


def money_in(account, amount: Decimal | int | str | None) -> str:
    """The account's money in its language, whatever language is active: «25 000,00 ₽», «25,000.00 ₽»."""
    with in_account_language(account):
        return plain_money_text(amount, getattr(account, "currency", "RUB") or "RUB")


def date_in(account, day: date | None) -> str:
    """A date in the account's language, whatever language is active: «05.12.2026», «2026-12-05»."""
    with in_account_language(account):
        return date_text(day)


MONTHS_GENITIVE_RU = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
                      "октября", "ноября", "декабря")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def date_text(day: date | None) -> str:
    """«05.12.2026» in Russian, «2026-12-05» in English."""
    if day is None:
        return "—"
    day = _day(day)
    return day.strftime("%d.%m.%Y") if _russian() else day.isoformat()


def date_long_text(day: date | None) -> str:
    """«5 декабря 2026 г.» in Russian, «5 December 2026» in English (the date line of a document)."""
    if day is None:
        return "—"
    day = _day(day)
    if _russian():
        return f"{day.day} {MONTHS_GENITIVE_RU[day.month - 1]} {day.year} г."
    return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"


def installment_label(kind: str, label: str) -> str:
    """A line's label as a person reads it: its own text (a state fee, say), or the catalogue's word for
    the engine's default."""
    if label in LABEL_WORDS:
        return str(LABEL_WORDS[label])
    if not label:
        return str(KIND_WORDS.get(kind, ""))
    return label


def payment_comment(comment: str) -> str:
    """A payment's comment: a manager's own text as written; PayPlan's own English ones of older rows
    from the catalogue."""
    if comment in PAYMENT_COMMENTS:
        return gettext(PAYMENT_COMMENTS[comment])
    for pattern, template in LEGACY_COMMENT_PATTERNS:
        found = pattern.match(comment or "")
        if found is None:
            continue
        if template is None:
            return gateway_payment_comment(number=found["number"], card_last_four=found["card"] or "",
                                           test_mode=bool(found["test"]))
        return gettext(template) % found.groupdict()
    return comment
