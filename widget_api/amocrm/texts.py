"""What managers read in amoCRM: note and task texts from i18n/ru.json, money and dates the Russian way."""
import json
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

I18N_FILE = Path(__file__).resolve().parent / "i18n" / "ru.json"
THIN_SPACE = "\u00a0"


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
    return catalog()["payment_methods"].get(method, method)


def note_text(name: str, **values: object) -> str:
    return catalog()["notes"][name].format(**values)


def task_text(name: str, **values: object) -> str:
    return catalog()["tasks"][name].format(**values)


def service_name() -> str:
    return catalog()["service"]


def field_names() -> dict[str, list[str]]:
    return catalog()["field_names"]
