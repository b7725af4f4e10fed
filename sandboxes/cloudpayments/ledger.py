"""The sandbox's memory: accounts, orders, transactions, tokens and receipts, with counters and a clock."""
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from billing.domain.money import ZERO
from sandboxes.cloudpayments.cards import DEFAULT_EXP, reason_for

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Account:
    public_id: str
    api_secret: str
    account_key: str


class _Owned(Protocol):
    public_id: str


Record = TypeVar("Record", bound=_Owned)


def owned(record: Record | None, account: Account) -> Record | None:
    """The record when it belongs to the account's terminal: one site never sees another's data."""
    return record if record is not None and record.public_id == account.public_id else None


@dataclass
class Order:
    id: str
    number: int
    internal_id: int
    public_id: str
    amount: Decimal
    currency: str
    description: str
    invoice_id: str | None
    account_id: str | None
    email: str | None
    phone: str | None
    require_confirmation: bool
    culture_name: str
    json_data: str  # JSON text, "" when none
    success_redirect_url: str | None
    fail_redirect_url: str | None
    created_at: datetime
    url: str
    status: str = "Created"
    paid_at: datetime | None = None


@dataclass
class Transaction:
    id: int
    public_id: str
    operation: str  # Payment or Refund
    amount: Decimal
    currency: str
    status: str
    created_at: datetime
    invoice_id: str | None = None
    account_id: str | None = None
    email: str | None = None
    description: str | None = None
    json_data: str = ""  # the API and notifications carry JsonData as a JSON string
    card: str | None = None
    card_exp: str = DEFAULT_EXP
    token: str | None = None
    reason_code: int = 0
    reason: str = "Approved"
    auth_date: datetime | None = None
    confirm_date: datetime | None = None
    refunded: Decimal = ZERO
    original_transaction_id: int | None = None
    fallback_declined_id: int | None = None
    auth_code: str = ""
    rrn: str = ""

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.refunded


@dataclass
class Receipt:
    id: str
    public_id: str
    inn: str
    type: str
    customer_receipt: dict[str, Any]
    invoice_id: str | None
    account_id: str | None
    amount: Decimal
    created_at: datetime


class Ledger:
    """Everything the sandbox knows; callers hold `lock` while they read or change it."""

    def __init__(self, accounts: list[Account], clock: Clock = utc_now,
                 first_transaction_id: int = 100001) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.public_url = ""  # the sandbox's own address, known once it listens; order Urls point there
        self.accounts = {account.public_id: account for account in accounts}
        self.accounts_by_key = {account.account_key: account for account in accounts}
        self.orders: dict[str, Order] = {}
        self.transactions: dict[int, Transaction] = {}
        self.receipts: dict[str, Receipt] = {}
        self.tokens: dict[str, tuple[str, str]] = {}  # token -> (public id that issued it, card number)
        self.token_exp: dict[str, str] = {}  # token -> the card's MM/YY
        # token -> outcomes its next charges get, in order: a ReasonCode (0 approves) or "3ds"
        self.token_scripts: dict[str, list[int | str]] = {}
        self._transaction_ids = itertools.count(first_transaction_id)
        self._serials = itertools.count(1)

    def next_transaction_id(self) -> int:
        return next(self._transaction_ids)

    def next_serial(self) -> int:
        """Order numbers, receipt ids, tokens, auth codes: one counter keeps them all deterministic."""
        return next(self._serials)

    def mint_token(self, public_id: str, card: str, exp: str = DEFAULT_EXP) -> str:
        token = f"tk_sbx_{self.next_serial():06d}_{card[-4:]}"
        self.tokens[token] = (public_id, card)
        self.token_exp[token] = exp
        return token

    def latest_for_invoice(self, public_id: str, invoice_id: str, *, with_refunds: bool) -> Transaction | None:
        found = [txn for txn in self.transactions.values()
                 if txn.public_id == public_id and txn.invoice_id == invoice_id
                 and (with_refunds or txn.operation == "Payment")]
        return max(found, key=lambda txn: txn.id, default=None)

    def add_transaction(self, **details: Any) -> Transaction:
        txn = Transaction(id=self.next_transaction_id(), created_at=self.clock(), **details)
        self.transactions[txn.id] = txn
        return txn

    def approve(self, txn: Transaction, status: str) -> None:
        """Authorized (two-stage hold) or Completed, with an auth code and RRN like a bank's."""
        serial = self.next_serial()
        now = self.clock()
        txn.status = status
        txn.reason_code, txn.reason = 0, reason_for(0)
        txn.auth_date = now
        txn.confirm_date = now if status == "Completed" else None
        txn.auth_code = f"A{serial:05d}"
        txn.rrn = f"{serial:012d}"

    def decline(self, txn: Transaction, reason_code: int) -> None:
        txn.status = "Declined"
        txn.reason_code, txn.reason = reason_code, reason_for(reason_code)
