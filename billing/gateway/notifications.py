"""Gateway notifications as services see them: typed values in, a neutral outcome out; no HTTP, no wire codes."""
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class NotificationInvalid(ValueError):
    """A notification field that cannot be trusted or typed; names the field for the stored event."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class GatewayNotification:
    kind: str
    transaction_id: str
    amount: Decimal | None
    currency: str | None
    invoice_number: str | None
    account_id: str | None
    occurred_at: datetime | None
    status: str | None
    reason: str | None
    reason_code: int | None
    token: str | None
    payment_transaction_id: str | None  # the payment a refund returns money of
    test_mode: bool
    card_last_four: str | None
    card_first_six: str | None = None
    card_exp: str | None = None  # MM/YY
    card_type: str | None = None


@dataclass(frozen=True)
class ReceivedNotification:
    """One delivery as it arrived (kept for storage and replay) with the adapter's verdict on it."""
    kind: str
    transaction_id: str  # the dedupe key, read leniently: a delivery is stored before it is judged
    raw_body: bytes
    content_type: str
    headers: dict[str, str | None]
    signature_valid: bool
    notification: GatewayNotification | None = None
    invalid: NotificationInvalid | None = None


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED_SIGNATURE = "rejected_signature"
    NOT_CONNECTED = "not_connected"
    INVALID = "invalid"
    UNMATCHED = "unmatched"
    CHECK_REFUSED = "check_refused"
    FAILED = "failed"


class CheckRefusal(StrEnum):
    UNKNOWN_INVOICE = "unknown_invoice"
    WRONG_ACCOUNT = "wrong_account"
    WRONG_AMOUNT = "wrong_amount"
    NOT_PAYABLE = "not_payable"
    EXPIRED = "expired"


@dataclass(frozen=True)
class NotificationOutcome:
    """What the service made of a notification. A duplicate carries the outcome first given, so the gateway
    hears the same answer again."""
    outcome: Outcome
    refusal: CheckRefusal | None = None
    field: str = ""
    message: str = ""
    previous: "NotificationOutcome | None" = None

    @property
    def effective(self) -> "NotificationOutcome":
        return self.previous.effective if self.outcome == Outcome.DUPLICATE and self.previous else self


ACCEPTED = NotificationOutcome(Outcome.ACCEPTED)
UNMATCHED = NotificationOutcome(Outcome.UNMATCHED)
FAILED = NotificationOutcome(Outcome.FAILED)


def refused(reason: CheckRefusal) -> NotificationOutcome:
    return NotificationOutcome(Outcome.CHECK_REFUSED, refusal=reason)


def invalid(field_name: str, message: str) -> NotificationOutcome:
    return NotificationOutcome(Outcome.INVALID, field=field_name, message=message)
