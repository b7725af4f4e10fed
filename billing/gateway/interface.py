"""The gateway as services see it: frozen dataclasses with Decimal amounts and the Gateway protocol."""
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from billing.domain.money import CENT, MoneyError, money


def exact_amount(value: Decimal | int | str) -> Decimal:
    """A positive amount with at most two decimals; never rounded, because the gateway would round silently."""
    amount = money(value)
    if amount != Decimal(value):
        raise MoneyError(f"{value!r} has more than two decimals.")
    if amount < CENT:
        raise MoneyError(f"{value!r} is below the 0.01 minimum.")
    return amount


class _ExactAmount:
    """Mixin for request dataclasses: checks and normalises `amount` on construction."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", exact_amount(self.amount))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CreateOrder(_ExactAmount):
    amount: Decimal
    description: str
    invoice_id: str
    account_id: str
    email: str | None = None
    phone: str | None = None
    currency: str = "RUB"
    require_confirmation: bool = False
    send_email: bool = False
    culture_name: str = "ru-RU"
    success_redirect_url: str | None = None
    fail_redirect_url: str | None = None
    json_data: dict[str, Any] | None = None
    # Gateways that offer them (YooKassa): one method only ("sbp"), keep the method for autopay, 54-FZ receipt.
    payment_method: str | None = None
    save_payment_method: bool = False
    receipt: dict[str, Any] | None = None


@dataclass(frozen=True)
class OrderCreated:
    order_id: str
    url: str
    number: int | None
    status: str | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class ChargeToken(_ExactAmount):
    amount: Decimal
    token: str
    account_id: str
    invoice_id: str | None
    description: str | None
    currency: str = "RUB"
    email: str | None = None
    scheduled: bool = True
    receipt: dict[str, Any] | None = None


@dataclass(frozen=True)
class ChargeResult:
    transaction_id: int | str  # CloudPayments: a number; YooKassa: the payment id
    status: str | None
    reason_code: int
    reason: str | None
    success: bool
    token: str | None
    needs_3ds: bool
    raw: dict[str, Any]


@dataclass(frozen=True)
class Refund(_ExactAmount):
    transaction_id: int | str  # the payment's: a CloudPayments number or a YooKassa payment id
    amount: Decimal
    currency: str = "RUB"
    receipt: dict[str, Any] | None = None  # YooKassa: the 54-FZ return receipt travels with the refund


@dataclass(frozen=True)
class RefundResult:
    transaction_id: int | str


@dataclass(frozen=True)
class FoundPayment:
    transaction_id: int
    status: str | None
    amount: Decimal
    invoice_id: str | None
    account_id: str | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class FiscalReceipt:
    inn: str
    receipt_type: str
    customer_receipt: dict[str, Any]
    invoice_id: str | None
    account_id: str | None


@dataclass(frozen=True)
class ReceiptQueued:
    receipt_id: str
    raw: dict[str, Any]


GATEWAY_NAMES = ("cloudpayments", "yookassa")


class Gateway(Protocol):
    """What billing services call, whichever gateway the account chose (billing.services.gateways); every
    write carries an idempotency key (CloudPayments: X-Request-ID; YooKassa: Idempotence-Key)."""

    name: str

    def create_order(self, order: CreateOrder, *, request_id: str) -> OrderCreated: ...

    def cancel_order(self, order_id: str, *, request_id: str) -> None: ...

    def find_payment(self, invoice_id: str) -> FoundPayment | None: ...

    def charge_token(self, charge: ChargeToken, *, request_id: str) -> ChargeResult: ...

    def refund(self, refund: Refund, *, request_id: str) -> RefundResult: ...

    def create_receipt(self, receipt: FiscalReceipt, *, request_id: str) -> ReceiptQueued: ...
