"""YooKassa HTTP notifications (contracts/yookassa.md §10): read leniently, trusted only after the object is
re-read from the API with the shop's own keys. The body carries no signature: the source address is checked
against the configured networks, and the API's object, never the notification's, is what gets recorded."""
import ipaddress
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from billing.decline_reasons import yookassa_reason_code
from billing.gateway.notifications import GatewayNotification, NotificationInvalid
from billing.gateway.yookassa import YooKassaPayment, YooKassaRefund, payment_read, refund_read

PAYMENT_EVENTS = ("payment.succeeded", "payment.canceled", "payment.waiting_for_capture")
REFUND_EVENTS = ("refund.succeeded",)
# What the API's object must say for the event to be true (a `succeeded` sent for a `pending` payment is forged).
EVENT_STATUSES = {"payment.succeeded": ("succeeded",), "payment.canceled": ("canceled",),
                  "payment.waiting_for_capture": ("waiting_for_capture", "succeeded", "canceled"),
                  "refund.succeeded": ("succeeded",)}
MAX_ID_LENGTH = 64


@dataclass(frozen=True)
class Envelope:
    """What a delivery says about itself: the event, the object's id and (when sent) its amount."""
    event: str
    object_id: str
    amount: Decimal | None


def envelope_read(raw_body: bytes) -> Envelope:
    try:
        body = json.loads(raw_body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotificationInvalid("body", "The notification is not JSON.") from exc
    if not isinstance(body, dict) or body.get("type") != "notification":
        raise NotificationInvalid("type", "The body is not a YooKassa notification.")
    event, obj = body.get("event"), body.get("object")
    if not isinstance(event, str) or (event not in EVENT_STATUSES and "." not in event):
        raise NotificationInvalid("event", "The notification names no event.")
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not 0 < len(obj["id"]) <= MAX_ID_LENGTH:
        raise NotificationInvalid("object.id", "The notification names no object.")
    amount = None
    raw_amount = obj.get("amount")
    if isinstance(raw_amount, dict) and raw_amount.get("value") is not None:
        try:
            amount = Decimal(str(raw_amount["value"]))
        except ArithmeticError as exc:
            raise NotificationInvalid("object.amount", "The amount is not a number.") from exc
    return Envelope(event=event[:32], object_id=obj["id"], amount=amount)


def source_trusted(address: str | None, networks: list[str]) -> bool:
    """The sender's address is in one of YooKassa's networks (the SDK's SecurityHelper list, from settings)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    for network in networks:
        try:
            if ip in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


def verify_payment(envelope: Envelope, payment: YooKassaPayment, *, shop_id: str) -> str | None:
    """Why the API's payment contradicts the notification (None: it confirms it)."""
    if payment.id != envelope.object_id:
        return "The API returned another payment."
    if payment.shop_id and payment.shop_id != shop_id:
        return f"The payment belongs to shop {payment.shop_id}, not {shop_id}."
    if payment.status not in EVENT_STATUSES.get(envelope.event, ()):
        return f"The API says the payment is {payment.status}, not {envelope.event}."
    if envelope.amount is not None and envelope.amount != payment.amount:
        return f"The notification says {envelope.amount}, the API {payment.amount}."
    return None


def verify_refund(envelope: Envelope, refund: YooKassaRefund) -> str | None:
    if refund.id != envelope.object_id:
        return "The API returned another refund."
    if refund.status not in EVENT_STATUSES.get(envelope.event, ()):
        return f"The API says the refund is {refund.status}, not {envelope.event}."
    if envelope.amount is not None and envelope.amount != refund.amount:
        return f"The notification says {envelope.amount}, the API {refund.amount}."
    return None


def _occurred(raw: dict[str, Any], *keys: str) -> datetime | None:
    for key in keys:
        value = raw.get(key)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
    return None


def notification_from_payment(event: str, payment: YooKassaPayment) -> GatewayNotification:
    """The verified payment as the money core reads any gateway's notification."""
    reason = payment.cancellation_reason
    canceled = event == "payment.canceled"
    return GatewayNotification(
        kind=event, transaction_id=payment.id, amount=payment.amount, currency=payment.currency or None,
        invoice_number=str(payment.metadata.get("payplan_reference") or "") or None,
        account_id=str(payment.metadata.get("payplan_lead") or "") or None,
        occurred_at=_occurred(payment.raw, "captured_at", "created_at"),
        status="Completed" if payment.status == "succeeded" else payment.status,
        reason=(reason or "general_decline") if canceled else None,
        reason_code=yookassa_reason_code(reason) if canceled else None,
        token=payment.method_id if payment.method_saved else None, payment_transaction_id=None,
        test_mode=payment.test, card_last_four=payment.card_last_four, card_exp=payment.card_exp,
        card_type=payment.method_type)


def notification_from_refund(event: str, refund: YooKassaRefund) -> GatewayNotification:
    return GatewayNotification(
        kind=event, transaction_id=refund.id, amount=refund.amount, currency=None, invoice_number=None,
        account_id=None, occurred_at=_occurred(refund.raw, "created_at"), status=refund.status, reason=None,
        reason_code=None, token=None, payment_transaction_id=refund.payment_id, test_mode=False,
        card_last_four=None)


def notification_read(*, event: str, verified: Any) -> GatewayNotification:
    """A stored, verified object (the API's answer kept on the event) read again, for replays."""
    if not isinstance(verified, dict):
        raise NotificationInvalid("object", "The event keeps no verified object.")
    if event.startswith("refund."):
        return notification_from_refund(event, refund_read(verified))
    return notification_from_payment(event, payment_read(verified))
