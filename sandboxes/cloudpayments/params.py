"""Requests and answers of sandbox API methods: keys read case-insensitively, amounts exact."""
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from billing.domain.money import CENT
from billing.gateway import jsonwire
from sandboxes.cloudpayments.ledger import Account


class RequestError(Exception):
    """A bad request: answered {Success: false, Message: <message>}."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Outcome:
    """An API method's answer envelope and the notifications it triggers, sent after the answer."""

    envelope: dict[str, Any]
    notifications: list[tuple[Account, str, dict[str, str]]] = field(default_factory=list)


def answer(model: Any = None, *, success: bool = True, message: str | None = None) -> dict[str, Any]:
    envelope: dict[str, Any] = {"Success": success, "Message": message}
    if model is not None:
        envelope["Model"] = model
    return envelope


class Params:
    """The body of one API call; the docs' own examples mix key casing, so lookups ignore case."""

    def __init__(self, body: dict[str, Any]) -> None:
        self._values = {str(key).lower(): value for key, value in body.items()}

    def text(self, name: str) -> str | None:
        value = self._values.get(name.lower())
        return None if value in (None, "") else str(value)

    def required_text(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise RequestError(f"{name} is required")
        return value

    def raw(self, name: str) -> Any:
        return self._values.get(name.lower())

    def json_text(self, name: str) -> str:
        """JsonData as the JSON string transactions and notifications carry ("" when absent)."""
        value = self.raw(name)
        if value is None or isinstance(value, str):
            return value or ""
        return jsonwire.dumps(value)

    def flag(self, name: str) -> bool:
        value = self._values.get(name.lower())
        return str(value).lower() in {"true", "1"}

    def integer(self, name: str) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError as exc:
            raise RequestError(f"{name} must be an integer") from exc

    def amount(self, name: str = "Amount") -> Decimal:
        """An amount ≥ 0.01 with at most two decimals, as the API demands of every money field."""
        return parse_amount(self.raw(name), name)


def parse_amount(value: Any, name: str, *, minimum: Decimal = CENT) -> Decimal:
    if value in (None, ""):
        raise RequestError(f"{name} is required")
    if isinstance(value, bool):
        raise RequestError(f"{name} must be a number")
    try:
        amount = Decimal(str(value))
        exact = amount.is_finite() and amount == amount.quantize(CENT)
    except InvalidOperation as exc:
        raise RequestError(f"{name} must be a number") from exc
    if not exact:
        raise RequestError(f"{name} must have at most 2 decimals")
    if amount < minimum:
        raise RequestError(f"{name} must be at least {minimum}")
    return amount.quantize(CENT)
