"""Russian business formatting: money with kopecks, dates, amounts in words (num2words, lang='ru')."""
from datetime import date, datetime
from decimal import Decimal

from num2words import num2words

from billing.domain.money import money

NBSP = "\u00a0"
MONTHS_GENITIVE = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
                   "октября", "ноября", "декабря")
CURRENCY_WORDS = {
    # (major one, two-four, five+), (minor one, two-four, five+)
    "RUB": (("рубль", "рубля", "рублей"), ("копейка", "копейки", "копеек")),
    "USD": (("доллар США", "доллара США", "долларов США"), ("цент", "цента", "центов")),
    "EUR": (("евро", "евро", "евро"), ("цент", "цента", "центов")),
}
CURRENCY_SIGNS = {"RUB": "руб.", "USD": "долл. США", "EUR": "евро"}


def plural_ru(number: int, forms: tuple[str, str, str]) -> str:
    """The form a Russian noun takes after `number`: 1 рубль, 2 рубля, 5 рублей, 11 рублей, 21 рубль."""
    number = abs(number)
    if number % 10 == 1 and number % 100 != 11:
        return forms[0]
    if 2 <= number % 10 <= 4 and not 12 <= number % 100 <= 14:
        return forms[1]
    return forms[2]


def money_ru(amount: Decimal | int | str | None) -> str:
    """25000 → "25 000,00" with non-breaking spaces, as Russian documents print sums."""
    if amount is None or amount == "":
        return ""
    value = money(amount)
    sign = "-" if value < 0 else ""
    whole, kopecks = f"{abs(value):.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{NBSP.join(groups)},{kopecks}"


def amount_in_words(amount: Decimal | int | str, currency: str = "RUB") -> str:
    """160000.5 → "Сто шестьдесят тысяч рублей 50 копеек": words for the roubles, digits for the kopecks,
    the way 1C prints the line under an invoice's total."""
    value = money(amount)
    major_forms, minor_forms = CURRENCY_WORDS.get(currency, CURRENCY_WORDS["RUB"])
    whole = int(abs(value))
    kopecks = int((abs(value) - whole) * 100)
    words = num2words(whole, lang="ru")
    text = f"{words} {plural_ru(whole, major_forms)} {kopecks:02d} {plural_ru(kopecks, minor_forms)}"
    if value < 0:
        text = f"минус {text}"
    return text[:1].upper() + text[1:]


def date_long(value: date | datetime | None) -> str:
    """5 января 2027 г."""
    if value is None or value == "":
        return ""
    return f"{value.day} {MONTHS_GENITIVE[value.month - 1]} {value.year} г."


def date_short(value: date | datetime | None) -> str:
    """05.01.2027"""
    if value is None or value == "":
        return ""
    return f"{value.day:02d}.{value.month:02d}.{value.year}"


def currency_sign(currency: str) -> str:
    return CURRENCY_SIGNS.get(currency, currency)
