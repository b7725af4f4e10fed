"""Business formatting of documents in the active language (billing.texts decides how sums and dates are
written): money with kopecks, dates, amounts in words (num2words), plural forms, currency signs.

Russian: «25 000,00», «05.01.2027», «5 января 2027 г.», «Двадцать пять тысяч рублей 00 копеек».
English: «25,000.00», «2027-01-05», «5 January 2027», «Twenty-five thousand roubles 00 kopecks».
"""
from datetime import date, datetime
from decimal import Decimal

from django.utils.translation import get_language
from num2words import num2words

from billing import texts
from billing.domain.money import money

NBSP = texts.NBSP
CURRENCY_WORDS = {
    # (major one, two-four, five+), (minor one, two-four, five+)
    "RUB": (("рубль", "рубля", "рублей"), ("копейка", "копейки", "копеек")),
    "USD": (("доллар США", "доллара США", "долларов США"), ("цент", "цента", "центов")),
    "EUR": (("евро", "евро", "евро"), ("цент", "цента", "центов")),
}
CURRENCY_WORDS_EN = {
    # (major one, many), (minor one, many)
    "RUB": (("rouble", "roubles"), ("kopeck", "kopecks")),
    "USD": (("US dollar", "US dollars"), ("cent", "cents")),
    "EUR": (("euro", "euros"), ("cent", "cents")),
}
CURRENCY_SIGNS = {"RUB": "руб.", "USD": "долл. США", "EUR": "евро"}
CURRENCY_SIGNS_EN = {"RUB": "RUB", "USD": "USD", "EUR": "EUR"}


def _russian() -> bool:
    return (get_language() or "ru").startswith("ru")


def plural_ru(number: int, forms: tuple[str, str, str]) -> str:
    """The form a Russian noun takes after `number`: 1 рубль, 2 рубля, 5 рублей, 11 рублей, 21 рубль."""
    number = abs(number)
    if number % 10 == 1 and number % 100 != 11:
        return forms[0]
    if 2 <= number % 10 <= 4 and not 12 <= number % 100 <= 14:
        return forms[1]
    return forms[2]


def plural(number: int, forms: tuple[str, str, str]) -> str:
    """Russian forms (one, few, many) in Russian; in English one for 1 and `many` otherwise."""
    if _russian():
        return plural_ru(number, forms)
    return forms[0] if abs(number) == 1 else forms[2]


def money_ru(amount: Decimal | int | str | None) -> str:
    """25000 → "25 000,00" with non-breaking spaces in Russian ("25,000.00" in English), as documents print
    sums next to their currency column."""
    if amount is None or amount == "":
        return ""
    return texts.number_text(amount)


def amount_in_words(amount: Decimal | int | str, currency: str = "RUB") -> str:
    """160000.5 → "Сто шестьдесят тысяч рублей 50 копеек": words for the roubles, digits for the kopecks,
    the way 1C prints the line under an invoice's total ("One hundred and sixty thousand roubles 50 kopecks")."""
    value = money(amount)
    whole = int(abs(value))
    kopecks = int((abs(value) - whole) * 100)
    if _russian():
        major_forms, minor_forms = CURRENCY_WORDS.get(currency, CURRENCY_WORDS["RUB"])
        words = num2words(whole, lang="ru")
        text = f"{words} {plural_ru(whole, major_forms)} {kopecks:02d} {plural_ru(kopecks, minor_forms)}"
        minus = "минус"
    else:
        (major_one, major_many), (minor_one, minor_many) = CURRENCY_WORDS_EN.get(currency, CURRENCY_WORDS_EN["RUB"])
        words = num2words(whole, lang="en")
        text = (f"{words} {major_one if whole == 1 else major_many} {kopecks:02d} "
                f"{minor_one if kopecks == 1 else minor_many}")
        minus = "minus"
    if value < 0:
        text = f"{minus} {text}"
    return text[:1].upper() + text[1:]


def date_long(value: date | datetime | None) -> str:
    """5 января 2027 г. (5 January 2027)"""
    if value is None or value == "":
        return ""
    return texts.date_long_text(value)


def date_short(value: date | datetime | None) -> str:
    """05.01.2027 (2027-01-05)"""
    if value is None or value == "":
        return ""
    return texts.date_text(value)


def currency_sign(currency: str) -> str:
    return (CURRENCY_SIGNS if _russian() else CURRENCY_SIGNS_EN).get(currency, currency)
