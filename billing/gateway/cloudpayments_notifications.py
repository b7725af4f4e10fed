"""The CloudPayments side of notifications: raw bytes and headers in, a verified, neutral
`ReceivedNotification` out; the `{"code": N}` answer codes of a neutral outcome. No Django."""
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

from billing.gateway.notifications import (
    CheckRefusal,
    GatewayNotification,
    NotificationInvalid,
    NotificationOutcome,
    Outcome,
    ReceivedNotification,
)
from billing.gateway.signature import sign, verify_notification
from billing.untrusted import UntrustedInputError, json_loads_untrusted, printable, text_check

KINDS = ("check", "pay", "fail", "confirm", "refund", "cancel", "recurrent")
AMOUNT_PATTERN = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?$")
ID_PATTERN = re.compile(r"^[0-9]{1,19}$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
MAX_FORM_FIELDS = 1000
KINDS_WITH_AMOUNT = {"check", "pay", "fail", "confirm", "refund", "cancel"}


def body_fields(raw_body: bytes, content_type: str) -> dict[str, str]:
    """The notification's fields; absent optionals arrive as "" and are kept as such here."""
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotificationInvalid("body", "The body is not UTF-8.") from exc
    if "json" in content_type.lower():
        try:
            data = json_loads_untrusted(text, parse_float=Decimal)
        except UntrustedInputError as exc:
            raise NotificationInvalid(exc.field or "body", exc.message) from exc
        if not isinstance(data, dict):
            raise NotificationInvalid("body", "The JSON body must be an object.")
        return {str(key): _as_text(value) for key, value in data.items()}
    try:
        fields = dict(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS))
    except ValueError as exc:
        raise NotificationInvalid("body", f"The form has more than {MAX_FORM_FIELDS} fields.") from exc
    try:
        for name, value in fields.items():
            text_check(name, "body")
            text_check(value, printable(name))
    except UntrustedInputError as exc:
        raise NotificationInvalid(exc.field, exc.message) from exc
    return fields


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def _optional(fields: dict[str, str], name: str) -> str | None:
    value = fields.get(name, "").strip()
    return value or None


def _identifier(fields: dict[str, str], name: str, required: bool) -> str | None:
    value = _optional(fields, name)
    if value is None:
        if required:
            raise NotificationInvalid(name, f"{name} is required.")
        return None
    if not ID_PATTERN.match(value):
        raise NotificationInvalid(name, f"{name} must be a whole number.")
    return value


def _amount(fields: dict[str, str], kind: str) -> Decimal | None:
    value = _optional(fields, "Amount")
    if value is None:
        if kind in KINDS_WITH_AMOUNT:
            raise NotificationInvalid("Amount", "Amount is required.")
        return None
    if not AMOUNT_PATTERN.match(value):
        raise NotificationInvalid("Amount", f"Amount {value!r} is not a number with a dot and at most 2 decimals.")
    return Decimal(value)


def _occurred_at(fields: dict[str, str]) -> datetime | None:
    value = _optional(fields, "DateTime")
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise NotificationInvalid("DateTime", "DateTime must be 'yyyy-MM-dd HH:mm:ss' (UTC).") from exc


def _currency(fields: dict[str, str]) -> str | None:
    value = _optional(fields, "Currency")
    if value is not None and not CURRENCY_PATTERN.match(value):
        raise NotificationInvalid("Currency", "Currency must be a three-letter code.")
    return value


def _reason_code(fields: dict[str, str]) -> int | None:
    value = _optional(fields, "ReasonCode")
    if value is None:
        return None
    if not re.match(r"^-?[0-9]{1,9}$", value):
        raise NotificationInvalid("ReasonCode", "ReasonCode must be a number.")
    return int(value)


def notification_parse(kind: str, fields: dict[str, str]) -> GatewayNotification:
    """Check and type the fields of one notification kind; raise NotificationInvalid naming the field."""
    if kind not in KINDS:
        raise NotificationInvalid("kind", f"Unknown notification kind {kind!r}.")
    id_field = "Id" if kind == "recurrent" else "TransactionId"
    transaction_id = (_optional(fields, "Id") or "") if kind == "recurrent" else _identifier(fields, id_field, True)
    last_four = _optional(fields, "CardLastFour")
    return GatewayNotification(
        kind=kind, transaction_id=transaction_id or "", amount=_amount(fields, kind), currency=_currency(fields),
        invoice_number=_optional(fields, "InvoiceId"), account_id=_optional(fields, "AccountId"),
        occurred_at=_occurred_at(fields), status=_optional(fields, "Status"), reason=_optional(fields, "Reason"),
        reason_code=_reason_code(fields), token=_optional(fields, "Token"),
        payment_transaction_id=_identifier(fields, "PaymentTransactionId", kind == "refund"),
        test_mode=fields.get("TestMode", "").strip().lower() in ("1", "true"),
        card_last_four=last_four if last_four and last_four.isdigit() and len(last_four) == 4 else None,
        card_first_six=_digits(fields, "CardFirstSix", 6), card_exp=_card_exp(fields),
        card_type=(_optional(fields, "CardType") or "")[:32] or None,
    )


def _digits(fields: dict[str, str], name: str, length: int) -> str | None:
    value = _optional(fields, name)
    return value if value and value.isdigit() and len(value) == length else None


def _card_exp(fields: dict[str, str]) -> str | None:
    """MM/YY or None: an expiry we cannot read is as good as none (the card is then never charged)."""
    value = _optional(fields, "CardExpDate")
    return value if value and re.fullmatch(r"(0[1-9]|1[0-2])/[0-9]{2}", value) else None


def transaction_id_of(kind: str, fields: dict[str, str]) -> str:
    """The dedupe key, read leniently: a notification is stored before it is judged."""
    value = fields.get("Id" if kind == "recurrent" else "TransactionId", "").strip()
    # Stored before anything is verified: only what a CloudPayments id can hold, whatever arrived.
    return "".join(char for char in value if char.isascii() and char.isprintable())[:64]


def notification_read(*, kind: str, raw_body: bytes, content_type: str) -> GatewayNotification:
    """A stored or arriving body as a typed notification; raises NotificationInvalid naming the field."""
    return notification_parse(kind, body_fields(raw_body, content_type))


def notification_receive(*, secret: str | None, kind: str, raw_body: bytes, content_type: str,
                         content_hmac: str | None, x_content_hmac: str | None) -> ReceivedNotification:
    """Verify the HMAC on the exact bytes and type the body. Only a signed body is parsed strictly; any
    body yields the lenient dedupe key. An empty secret verifies nothing (see verify_notification)."""
    signature_valid = verify_notification(secret, raw_body, content_hmac, x_content_hmac)
    unreadable = None
    try:
        fields = body_fields(raw_body, content_type)  # read once: the dedupe key and the typed notification
    except NotificationInvalid as exc:
        fields, unreadable = {}, exc
    notification, invalid = None, None
    if signature_valid:
        try:
            if unreadable is not None:
                raise unreadable
            notification = notification_parse(kind, fields)
        except NotificationInvalid as exc:
            invalid = exc
    return ReceivedNotification(
        kind=kind, transaction_id=transaction_id_of(kind, fields), raw_body=raw_body,
        content_type=content_type, headers={"Content-HMAC": content_hmac, "X-Content-HMAC": x_content_hmac},
        signature_valid=signature_valid, notification=notification, invalid=invalid)


# The answer codes of contract §3 ("code" in the JSON answer); 0 accepts, anything else makes
# CloudPayments refuse the payment (Check) or deliver the notification again (the others).
ACCEPTED_CODE = 0
REFUSAL_CODES = {CheckRefusal.UNKNOWN_INVOICE: 10, CheckRefusal.WRONG_ACCOUNT: 11, CheckRefusal.WRONG_AMOUNT: 12,
                 CheckRefusal.NOT_PAYABLE: 13, CheckRefusal.EXPIRED: 20}
REFUSALS_BY_CODE = {code: refusal for refusal, code in REFUSAL_CODES.items()}
# Non-zero for what we did not take: CloudPayments delivers it again, which is harmless.
NOT_TAKEN_CODE = REFUSAL_CODES[CheckRefusal.NOT_PAYABLE]


def answer_code(outcome: NotificationOutcome) -> int:
    outcome = outcome.effective
    if outcome.outcome in (Outcome.ACCEPTED, Outcome.UNMATCHED):
        return ACCEPTED_CODE
    if outcome.outcome == Outcome.CHECK_REFUSED and outcome.refusal is not None:
        return REFUSAL_CODES[outcome.refusal]
    return NOT_TAKEN_CODE


def check_refusal_of(code: int | None) -> CheckRefusal | None:
    """The refusal a stored answer code stands for (None for an accepting answer)."""
    return REFUSALS_BY_CODE.get(code) if code else None


def self_test_check(*, secret: str | None, currency: str, invoice_number: str) -> tuple[bytes, str | None]:
    """A test-mode Check body as CloudPayments sends it, signed with `secret` (None when there is none)."""
    body = urlencode({
        "TransactionId": "0", "Amount": "1.00", "Currency": currency,
        "DateTime": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"), "InvoiceId": invoice_number,
        "AccountId": "", "TestMode": "1", "Status": "Completed", "OperationType": "Payment",
    }).encode()
    return body, (sign(secret, body) if secret else None)
