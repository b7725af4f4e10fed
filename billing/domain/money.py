"""Money helpers: one place that turns input into Decimal and quantizes it."""
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("999999999999.99")  # what DecimalField(max_digits=14, decimal_places=2) holds


class MoneyError(ValueError):
    """An input that cannot be an amount of money."""


def money(value: Decimal | int | str) -> Decimal:
    """Quantize to kopecks, half up. Floats are refused: they are not money."""
    if isinstance(value, float | bool):
        raise MoneyError("Amounts must be decimal strings, not floats.")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise MoneyError(f"{value!r} is not a number.") from exc
    if not amount.is_finite():
        raise MoneyError("Amounts must be finite numbers.")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def floor_to_unit(amount: Decimal, unit: Decimal) -> Decimal:
    """The largest multiple of `unit` not above `amount` (for positive amounts)."""
    return ((amount / unit).to_integral_value(rounding=ROUND_DOWN) * unit).quantize(CENT)


def format_money(amount: Decimal) -> str:
    return str(money(amount))


def money_text(amount: Decimal, sign: str = "\u20bd") -> str:
    """«9 500,00 ₽»: how a person reads money in a message (non-breaking spaces), whatever the UI language."""
    return f"{money(amount):,.2f}".replace(",", "\u00a0").replace(".", ",") + "\u00a0" + sign
