"""Money and dates as the client reads them: «160 000,00 ₽», «05.12.2026» (documents/formatting.py)."""
from django import template

from documents.formatting import currency_sign, date_short, money_ru

register = template.Library()


@register.filter
def rub(amount, currency="RUB") -> str:
    # On screen the rouble is «₽» (the printed documents spell it «руб.»).
    sign = "₽" if (currency or "RUB") == "RUB" else currency_sign(currency)
    return f"{money_ru(amount)}\u00a0{sign}"


@register.filter
def day(value) -> str:
    return date_short(value)
