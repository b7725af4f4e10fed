"""CloudPayments notifications: store raw, verify, then record in one locked transaction; replays are no-ops."""
import logging
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from billing.errors import ApplicationError
from billing.events import PAYMENT_FAILED, publish
from billing.gateway.signature import verify_notification
from billing.models import Account, GatewayEvent, Invoice, Payment
from billing.services.payments import PaymentInput, payment_record_from_gateway, payment_refund_record
from billing.webhooks.parsing import (
    Notification,
    NotificationInvalid,
    body_fields,
    notification_parse,
    transaction_id_of,
)

logger = logging.getLogger(__name__)

ACCEPTED = 0
CHECK_WRONG_INVOICE, CHECK_WRONG_ACCOUNT, CHECK_WRONG_AMOUNT, CHECK_NOT_PAYABLE, CHECK_EXPIRED = 10, 11, 12, 13, 20
FINAL_STATUSES = (GatewayEvent.Status.PROCESSED, GatewayEvent.Status.UNMATCHED, GatewayEvent.Status.INVALID)


@dataclass(frozen=True)
class WebhookAnswer:
    http_status: int
    body: dict


def _ok(code: int = ACCEPTED) -> WebhookAnswer:
    return WebhookAnswer(200, {"code": code})


def _invalid(field_name: str, message: str) -> WebhookAnswer:
    # Non-zero: CloudPayments retries, which is harmless; the stored event shows operators why.
    return WebhookAnswer(400, {"code": CHECK_NOT_PAYABLE, "error": {
        "code": "invalid_notification", "message": message, "fields": {field_name: [message]}}})


def gateway_notification_receive(*, account: Account, kind: str, raw_body: bytes, content_type: str,
                                 content_hmac: str | None, x_content_hmac: str | None) -> WebhookAnswer:
    """Store the notification and verify its HMAC on the exact bytes; a signed one is processed in the
    same transaction as it is stored (one commit), inside a savepoint so a failure still keeps the event."""
    signature_valid = verify_notification(account.cloudpayments_api_secret, raw_body, content_hmac, x_content_hmac)
    try:
        fields = body_fields(raw_body, content_type)
    except NotificationInvalid:
        fields = {}
    values = {"account": account, "kind": kind, "transaction_id": transaction_id_of(kind, fields),
              "raw_body": raw_body, "content_type": content_type[:100], "signature_valid": signature_valid,
              "headers": {"Content-HMAC": content_hmac, "X-Content-HMAC": x_content_hmac}}
    if not signature_valid:
        event = GatewayEvent.objects.create(status=GatewayEvent.Status.REJECTED, **values)
        logger.warning("CloudPayments %s for %s: bad signature, event %s rejected", kind, account.subdomain, event.pk)
        return WebhookAnswer(401, {"code": CHECK_NOT_PAYABLE, "error": {
            "code": "invalid_signature", "message": "The HMAC signature does not match.", "fields": {}}})
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = GatewayEvent.objects.create(**values)
        except IntegrityError:
            # The same signed notification again (a CloudPayments retry, or a concurrent duplicate that
            # waited on the unique index until the first one committed).
            return _duplicate(account=account, kind=kind, transaction_id=values["transaction_id"])
        try:
            with transaction.atomic():
                return _process(event)
        except Exception as exc:  # a bug, not bad input: keep the event, let CloudPayments deliver again
            logger.exception("CloudPayments event %s failed", event.pk)
            GatewayEvent.objects.filter(pk=event.pk).update(status=GatewayEvent.Status.FAILED, error=repr(exc)[:2000])
            return WebhookAnswer(503, {"code": CHECK_NOT_PAYABLE, "error": {
                "code": "processing_failed", "message": "Stored; processing failed and will be retried.",
                "fields": {}}})


def _duplicate(*, account: Account, kind: str, transaction_id: str) -> WebhookAnswer:
    existing = GatewayEvent.objects.get(account=account, kind=kind, transaction_id=transaction_id,
                                        signature_valid=True)
    GatewayEvent.objects.filter(pk=existing.pk).update(replays=F("replays") + 1)
    if existing.status in FINAL_STATUSES:
        return _stored_answer(existing)
    return gateway_event_process(event_id=existing.pk)


@transaction.atomic
def gateway_event_process(*, event_id: int, force: bool = False) -> WebhookAnswer:
    """Process a stored, signed event under its row lock; a processed one answers again without changes."""
    event = GatewayEvent.objects.select_for_update(no_key=True, of=("self",)).select_related("account").get(pk=event_id)
    if not event.signature_valid:
        raise ApplicationError("invalid_signature", "A notification with a bad signature is never processed.")
    if event.status in FINAL_STATUSES and not force:
        return _stored_answer(event)
    return _process(event)


def _process(event: GatewayEvent) -> WebhookAnswer:
    try:
        note = notification_parse(event.kind, body_fields(bytes(event.raw_body), event.content_type))
        with transaction.atomic():  # a refused notification leaves no half-written rows behind
            answer = PROCESSORS[event.kind](event, note)
    except NotificationInvalid as exc:
        event.status, event.error = GatewayEvent.Status.INVALID, f"{exc.field}: {exc.message}"
        answer = _invalid(exc.field, exc.message)
    except ApplicationError as exc:
        event.status, event.error = GatewayEvent.Status.INVALID, f"{exc.code}: {exc.message}"
        answer = _invalid(next(iter(exc.fields), "body"), exc.message)
    event.answer_code = answer.body["code"]
    event.processed_at = timezone.now()
    event.save(update_fields=["status", "error", "answer_code", "processed_at", "payment"])
    return answer


def _stored_answer(event: GatewayEvent) -> WebhookAnswer:
    if event.status == GatewayEvent.Status.INVALID:
        field_name, _, message = event.error.partition(": ")
        return _invalid(field_name, message or event.error)
    return _ok(event.answer_code or ACCEPTED)


def _local_date(account: Account, note: Notification) -> date:
    moment = note.occurred_at or timezone.now()
    return moment.astimezone(ZoneInfo(account.time_zone)).date()


def _invoice_of(event: GatewayEvent, note: Notification) -> Invoice | None:
    if note.invoice_id is None:
        return None
    return Invoice.objects.filter(account=event.account, number=note.invoice_id).select_related("deal").first()


def _check_currency(event: GatewayEvent, note: Notification) -> None:
    if note.currency and note.currency != event.account.currency:
        message = f"Currency {note.currency} is not the account's {event.account.currency}."
        raise NotificationInvalid("Currency", message)


def _unmatched(event: GatewayEvent, why: str) -> WebhookAnswer:
    event.status, event.error = GatewayEvent.Status.UNMATCHED, why
    logger.warning("CloudPayments %s %s for %s matched nothing: %s", event.kind, event.transaction_id,
                   event.account.subdomain, why)
    return _ok()


def _processed(event: GatewayEvent, payment: Payment | None = None) -> WebhookAnswer:
    event.status, event.error = GatewayEvent.Status.PROCESSED, ""
    if payment is not None:
        event.payment = payment
    return _ok()


def process_check(event: GatewayEvent, note: Notification) -> WebhookAnswer:
    invoice = _invoice_of(event, note)
    event.status = GatewayEvent.Status.PROCESSED
    if invoice is None:
        return _ok(CHECK_WRONG_INVOICE)
    if note.account_id is not None and note.account_id != str(invoice.deal.lead_id):
        return _ok(CHECK_WRONG_ACCOUNT)
    if note.amount != invoice.amount or (note.currency and note.currency != event.account.currency):
        return _ok(CHECK_WRONG_AMOUNT)
    if invoice.status == Invoice.Status.EXPIRED:
        return _ok(CHECK_EXPIRED)
    if invoice.status not in Invoice.LIVE_STATUSES:
        return _ok(CHECK_NOT_PAYABLE)
    return _ok()


def process_pay(event: GatewayEvent, note: Notification) -> WebhookAnswer:
    _check_currency(event, note)
    if note.status == "Authorized":
        return _processed(event)  # a two-stage hold: the money moves on Confirm
    return _record_gateway_payment(event, note)


def _record_gateway_payment(event: GatewayEvent, note: Notification) -> WebhookAnswer:
    invoice = _invoice_of(event, note)
    if invoice is None:
        return _unmatched(event, f"No invoice {note.invoice_id!r} in this account.")
    card = f", card *{note.card_last_four}" if note.card_last_four else ""
    payment, created = payment_record_from_gateway(deal=invoice.deal, amount=note.amount, payment=PaymentInput(
        method=Payment.Method.CLOUDPAYMENTS, paid_at=_local_date(event.account, note),
        transaction_id=note.transaction_id, invoice_id=invoice.pk, card_token=note.token or "",
        comment=f"CloudPayments, invoice {invoice.number}{card}" + (" (test mode)" if note.test_mode else ""),
    ))
    if created:  # the deal is still locked by the service's transaction
        Invoice.objects.filter(pk=invoice.pk).update(
            status=Invoice.Status.PAID, paid_at=note.occurred_at or timezone.now(),
            paid_amount=F("paid_amount") + note.amount)
    return _processed(event, payment)


def process_confirm(event: GatewayEvent, note: Notification) -> WebhookAnswer:
    _check_currency(event, note)
    return _record_gateway_payment(event, note)


def process_fail(event: GatewayEvent, note: Notification) -> WebhookAnswer:
    invoice = _invoice_of(event, note)
    if invoice is None:
        return _unmatched(event, f"No invoice {note.invoice_id!r} in this account.")
    reason = f"{note.reason or 'Declined'} ({note.reason_code})" if note.reason_code else (note.reason or "Declined")
    Invoice.objects.filter(pk=invoice.pk).update(last_failure_reason=reason[:255], last_failure_code=note.reason_code,
                                                 failed_attempts=F("failed_attempts") + 1)
    publish(account=event.account, name=PAYMENT_FAILED, payload={
        "invoice_id": invoice.pk, "number": invoice.number, "deal_id": invoice.deal_id,
        "lead_id": invoice.deal.lead_id, "amount": str(note.amount), "reason": reason,
        "reason_code": note.reason_code,
    })
    return _processed(event)


def process_refund(event: GatewayEvent, note: Notification) -> WebhookAnswer:
    original = Payment.objects.filter(account=event.account, transaction_id=note.payment_transaction_id).first()
    if original is None:
        return _unmatched(event, f"No payment with transaction {note.payment_transaction_id}.")
    refund = payment_refund_record(original=original, amount=note.amount, transaction_id=note.transaction_id,
                                   paid_at=_local_date(event.account, note))
    return _processed(event, refund)


def process_cancel(event: GatewayEvent, note: Notification) -> WebhookAnswer:
    invoice = _invoice_of(event, note)
    if invoice is not None:
        Invoice.objects.filter(pk=invoice.pk).update(last_failure_reason="The card hold was cancelled.")
    return _processed(event)


def process_recurrent(event: GatewayEvent, note: Notification) -> WebhookAnswer:
    return _processed(event)  # subscription changes are stored for operators; PayPlan drives its own schedule


PROCESSORS = {
    "check": process_check, "pay": process_pay, "fail": process_fail, "confirm": process_confirm,
    "refund": process_refund, "cancel": process_cancel, "recurrent": process_recurrent,
}
