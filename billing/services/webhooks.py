"""CloudPayments notifications: store raw, verify, then record in one locked transaction; replays are no-ops."""
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.errors import ApplicationError
from billing.events import PAYMENT_FAILED, publish
from billing.gateway.signature import sign, verify_notification
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
FINAL_STATUSES = (GatewayEvent.Status.PROCESSED, GatewayEvent.Status.UNMATCHED, GatewayEvent.Status.INVALID,
                  GatewayEvent.Status.TEST_MODE)
# An unsigned body is anyone's bytes: keep its hash, size and head, never the whole of it.
UNSIGNED_BODY_HEAD = 2048


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
    same transaction as it is stored (one commit), inside a savepoint so a failure still keeps the event.
    An account without an API secret verifies nothing: its notifications are refused whatever they carry."""
    secret = account.cloudpayments_api_secret
    has_secret = bool(secret and secret.strip())
    signature_valid = has_secret and verify_notification(secret, raw_body, content_hmac, x_content_hmac)
    try:
        fields = body_fields(raw_body, content_type)
    except NotificationInvalid:
        fields = {}
    values = {"account": account, "kind": kind, "transaction_id": transaction_id_of(kind, fields),
              "raw_body": raw_body if signature_valid else raw_body[:UNSIGNED_BODY_HEAD],
              "body_sha256": hashlib.sha256(raw_body).hexdigest(), "body_size": len(raw_body),
              "content_type": content_type[:100], "signature_valid": signature_valid,
              "headers": {"Content-HMAC": content_hmac, "X-Content-HMAC": x_content_hmac}}
    if not has_secret:
        message = _("CloudPayments is not connected: the account has no API secret, so nothing is accepted.")
        event = GatewayEvent.objects.create(status=GatewayEvent.Status.REJECTED, error=message, **values)
        logger.warning("CloudPayments %s for %s: no API secret, event %s rejected", kind, account.subdomain, event.pk)
        return WebhookAnswer(401, {"code": CHECK_NOT_PAYABLE, "error": {
            "code": "cloudpayments_not_connected", "message": message, "fields": {}}})
    if not signature_valid:
        message = _("The HMAC signature does not match.")
        event = GatewayEvent.objects.create(status=GatewayEvent.Status.REJECTED, error=message, **values)
        logger.warning("CloudPayments %s for %s: bad signature, event %s rejected", kind, account.subdomain, event.pk)
        return WebhookAnswer(401, {"code": CHECK_NOT_PAYABLE, "error": {
            "code": "invalid_signature", "message": message, "fields": {}}})
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


@dataclass(frozen=True)
class SelfTestResult:
    verified: bool
    http_status: int
    answer_code: int | None
    error_code: str | None


class _Discard(Exception):  # a control-flow signal that rolls the self-test back
    def __init__(self, answer: WebhookAnswer) -> None:
        super().__init__("self-test rolled back")
        self.answer = answer


SELF_TEST_INVOICE = "PAYPLAN-SELF-TEST"


def gateway_notification_self_test(*, account: Account) -> SelfTestResult:
    """Sign a test Check with the stored secret and run it through the very receive/verify path, in this
    process, then roll everything back: the test leaves no event and can never record money."""
    account = Account.objects.get(pk=account.pk)
    body = urlencode({
        "TransactionId": "0", "Amount": "1.00", "Currency": account.currency,
        "DateTime": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"), "InvoiceId": SELF_TEST_INVOICE,
        "AccountId": "", "TestMode": "1", "Status": "Completed", "OperationType": "Payment",
    }).encode()
    secret = account.cloudpayments_api_secret
    signature = sign(secret, body) if secret else None
    try:
        with transaction.atomic():
            answer = gateway_notification_receive(
                account=account, kind="check", raw_body=body, content_type="application/x-www-form-urlencoded",
                content_hmac=signature, x_content_hmac=None)
            raise _Discard(answer)
    except _Discard as discard:
        answer = discard.answer
    error = answer.body.get("error")
    return SelfTestResult(verified=answer.http_status == 200, http_status=answer.http_status,
                          answer_code=answer.body.get("code"), error_code=error["code"] if error else None)


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
            if note.test_mode and not event.account.cloudpayments_test_mode:
                answer = _test_mode_held(event, note)
            else:
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


def _test_mode_held(event: GatewayEvent, note: Notification) -> WebhookAnswer:
    """A TestMode notification on a live account: stored and shown, never counted as money. A Check is
    still answered truthfully (it moves no money) so the cabinet's own test sees how we judge it."""
    answer = process_check(event, note) if event.kind == "check" else _ok()
    event.status = GatewayEvent.Status.TEST_MODE
    event.error = _("TestMode notification on a live account: stored, not counted as money.")
    logger.warning("CloudPayments %s %s for %s is in test mode on a live account: not counted", event.kind,
                   event.transaction_id, event.account.subdomain)
    return answer


def _account_id_matches(invoice: Invoice, note: Notification) -> bool:
    """The payer's AccountId, when sent, must be the lead of the invoice's deal (what we send on orders)."""
    return note.account_id is None or note.account_id == str(invoice.deal.lead_id)


def process_check(event: GatewayEvent, note: Notification) -> WebhookAnswer:
    invoice = _invoice_of(event, note)
    event.status = GatewayEvent.Status.PROCESSED
    if invoice is None:
        return _ok(CHECK_WRONG_INVOICE)
    if not _account_id_matches(invoice, note):
        return _ok(CHECK_WRONG_ACCOUNT)
    if invoice.status == Invoice.Status.EXPIRED:
        return _ok(CHECK_EXPIRED)
    if invoice.status not in Invoice.LIVE_STATUSES:
        return _ok(CHECK_NOT_PAYABLE)
    # After a partial payment the invoice is payable for what is left of it, not for its full amount.
    outstanding = invoice.amount - invoice.paid_amount
    if note.amount != outstanding or (note.currency and note.currency != event.account.currency):
        return _ok(CHECK_WRONG_AMOUNT)
    return _ok()


def process_pay(event: GatewayEvent, note: Notification) -> WebhookAnswer:
    _check_currency(event, note)
    if note.status == "Authorized":
        return _processed(event)  # a two-stage hold: the money moves on Confirm
    return _record_gateway_payment(event, note)


def _record_gateway_payment(event: GatewayEvent, note: Notification) -> WebhookAnswer:
    invoice = _invoice_of(event, note)
    if invoice is None:
        return _unmatched(event, _("No invoice %(number)r in this account.") % {"number": note.invoice_id})
    if not _account_id_matches(invoice, note):
        # Money for someone else's lead is never booked to this invoice's deal: an operator sorts it out.
        return _unmatched(event, _("AccountId %(account_id)r is not lead %(lead_id)s of invoice %(number)s.") % {
            "account_id": note.account_id, "lead_id": invoice.deal.lead_id, "number": invoice.number})
    card = f", card *{note.card_last_four}" if note.card_last_four else ""
    payment, created = payment_record_from_gateway(deal=invoice.deal, amount=note.amount, payment=PaymentInput(
        method=Payment.Method.CLOUDPAYMENTS, paid_at=_local_date(event.account, note),
        transaction_id=note.transaction_id, invoice_id=invoice.pk, card_token=note.token or "",
        comment=f"CloudPayments, invoice {invoice.number}{card}" + (" (test mode)" if note.test_mode else ""),
    ))
    if created:  # the deal is still locked by the service's transaction
        _invoice_add_paid(invoice=invoice, amount=note.amount, paid_at=note.occurred_at or timezone.now())
    return _processed(event, payment)


def _invoice_add_paid(*, invoice: Invoice, amount: Decimal, paid_at: datetime) -> None:
    """Count what arrived; the invoice is paid only once the whole of it has, else it stays payable for
    the remainder (a short payment is a partial payment, not a paid invoice)."""
    Invoice.objects.filter(pk=invoice.pk).update(paid_amount=F("paid_amount") + amount)
    invoice.refresh_from_db(fields=["paid_amount", "status"])
    if invoice.paid_amount >= invoice.amount and invoice.status != Invoice.Status.PAID:
        Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.PAID, paid_at=paid_at)


def process_confirm(event: GatewayEvent, note: Notification) -> WebhookAnswer:
    _check_currency(event, note)
    return _record_gateway_payment(event, note)


def process_fail(event: GatewayEvent, note: Notification) -> WebhookAnswer:
    invoice = _invoice_of(event, note)
    if invoice is None:
        return _unmatched(event, _("No invoice %(number)r in this account.") % {"number": note.invoice_id})
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
