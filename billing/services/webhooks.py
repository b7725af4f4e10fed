"""Gateway notifications: store raw, verify, then record in one locked transaction; replays are no-ops.
Speaks money, not HTTP: the CloudPayments adapter hands in a verified, typed notification and the view maps
the neutral outcome returned here to its HTTP status and `{"code": N}` answer."""
import hashlib
import logging
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.decline_reasons import decline_reason_text
from billing.errors import ApplicationError
from billing.events import PAYMENT_FAILED, publish
from billing.gateway import cloudpayments_notifications as cloudpayments
from billing.gateway import yookassa_notifications
from billing.gateway.errors import GatewayError
from billing.gateway.notifications import (
    ACCEPTED,
    UNMATCHED,
    CheckRefusal,
    GatewayNotification,
    NotificationInvalid,
    NotificationOutcome,
    Outcome,
    ReceivedNotification,
    invalid,
    refused,
)
from billing.models import Account, GatewayEvent, Invoice, Payment
from billing.services.autopay import charge_attempt_for_reference, charge_attempt_settle_paid, saved_card_capture
from billing.services.pay_hot_path import pay_hot_path_receive
from billing.services.payments import PaymentInput, payment_record_from_gateway, payment_refund_record
from billing.texts import gateway_payment_comment, in_account_language

YOOKASSA = "yookassa"

logger = logging.getLogger(__name__)

FINAL_STATUSES = (GatewayEvent.Status.PROCESSED, GatewayEvent.Status.UNMATCHED, GatewayEvent.Status.INVALID,
                  GatewayEvent.Status.TEST_MODE)
# An unsigned body is anyone's bytes: keep its hash, size and head, never the whole of it.
UNSIGNED_BODY_HEAD = 2048


def gateway_notification_receive(*, account: Account, received: ReceivedNotification) -> NotificationOutcome:
    """Store the notification as it arrived; a signed one is processed in the same transaction as it is
    stored (one commit), inside a savepoint so a failure still keeps the event. An account without an API
    secret verifies nothing: its notifications are refused whatever they carry."""
    secret = account.cloudpayments_api_secret
    has_secret = bool(secret and secret.strip())
    signature_valid = has_secret and received.signature_valid
    raw_body = received.raw_body
    values = {"account": account, "kind": received.kind, "transaction_id": received.transaction_id,
              "raw_body": raw_body if signature_valid else raw_body[:UNSIGNED_BODY_HEAD],
              "body_sha256": hashlib.sha256(raw_body).hexdigest(), "body_size": len(raw_body),
              "content_type": received.content_type[:100], "signature_valid": signature_valid,
              "headers": received.headers}
    kind = received.kind
    if not has_secret:
        message = _("CloudPayments is not connected: the account has no API secret, so nothing is accepted.")
        event = GatewayEvent.objects.create(status=GatewayEvent.Status.REJECTED, error=message, **values)
        logger.warning("CloudPayments %s for %s: no API secret, event %s rejected", kind, account.slug, event.pk)
        return NotificationOutcome(Outcome.NOT_CONNECTED, message=message)
    if not signature_valid:
        message = _("The HMAC signature does not match.")
        event = GatewayEvent.objects.create(status=GatewayEvent.Status.REJECTED, error=message, **values)
        logger.warning("CloudPayments %s for %s: bad signature, event %s rejected", kind, account.slug, event.pk)
        return NotificationOutcome(Outcome.REJECTED_SIGNATURE, message=message)
    hot = pay_hot_path_receive(account=account, received=received)  # the common Pay; None: not that road
    if hot is not None:
        return hot
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
                return _process(event, received.notification or received.invalid)
        except Exception as exc:  # a bug, not bad input: keep the event, let the gateway deliver again
            logger.exception("CloudPayments event %s failed", event.pk)
            GatewayEvent.objects.filter(pk=event.pk).update(status=GatewayEvent.Status.FAILED, error=repr(exc)[:2000])
            return NotificationOutcome(Outcome.FAILED, message="Stored; processing failed and will be retried.")


def _duplicate(*, account: Account, kind: str, transaction_id: str) -> NotificationOutcome:
    existing = GatewayEvent.objects.get(account=account, kind=kind, transaction_id=transaction_id,
                                        signature_valid=True)
    GatewayEvent.objects.filter(pk=existing.pk).update(replays=F("replays") + 1)
    if existing.status in FINAL_STATUSES:
        first = _stored_outcome(existing)
    else:
        first = gateway_event_process(event_id=existing.pk)
    return NotificationOutcome(Outcome.DUPLICATE, previous=first)


@transaction.atomic
def gateway_event_process(*, event_id: int, force: bool = False) -> NotificationOutcome:
    """Process a stored, signed event under its row lock; a processed one answers again without changes."""
    event = GatewayEvent.objects.select_for_update(no_key=True, of=("self",)).select_related("account").get(pk=event_id)
    if not event.signature_valid:
        raise ApplicationError("invalid_signature", _("A notification with a bad signature is never processed."))
    if event.status in FINAL_STATUSES and not force:
        return _stored_outcome(event)
    try:
        if event.gateway == YOOKASSA:
            # Replayed from the API's object kept when it was verified, never from the notification's body.
            note: GatewayNotification | NotificationInvalid = yookassa_notifications.notification_read(
                event=event.kind, verified=(event.headers or {}).get("verified_object"))
        else:
            note = cloudpayments.notification_read(kind=event.kind, raw_body=bytes(event.raw_body),
                                                   content_type=event.content_type)
    except (NotificationInvalid, GatewayError) as exc:
        note = exc if isinstance(exc, NotificationInvalid) else NotificationInvalid("object", exc.message)
    return _process(event, note)


def _process(event: GatewayEvent, note: GatewayNotification | NotificationInvalid | None) -> NotificationOutcome:
    try:
        if not isinstance(note, GatewayNotification):
            raise note or NotificationInvalid("body", "The notification was not read.")
        with transaction.atomic():  # a refused notification leaves no half-written rows behind
            if note.test_mode and not _test_money_allowed(event):
                outcome = _test_mode_held(event, note)
            elif event.gateway == YOOKASSA:
                outcome = YOOKASSA_PROCESSORS.get(event.kind, _processed)(event, note)
            else:
                outcome = PROCESSORS[event.kind](event, note)
    except NotificationInvalid as exc:
        event.status, event.error = GatewayEvent.Status.INVALID, f"{exc.field}: {exc.message}"
        outcome = invalid(exc.field, exc.message)
    except ApplicationError as exc:
        event.status, event.error = GatewayEvent.Status.INVALID, f"{exc.code}: {exc.message}"
        outcome = invalid(next(iter(exc.fields), "body"), exc.message)
    event.answer_code = cloudpayments.answer_code(outcome)  # what the gateway was told, kept for operators
    event.processed_at = timezone.now()
    event.save(update_fields=["status", "error", "answer_code", "processed_at", "payment"])
    return outcome


def _test_money_allowed(event: GatewayEvent) -> bool:
    """Test payments count as money only on a test terminal: CloudPayments' test mode, a YooKassa `test_` key."""
    account = event.account
    if event.gateway == YOOKASSA:
        return account.yookassa_secret_key.startswith("test_")
    return account.cloudpayments_test_mode


def _stored_outcome(event: GatewayEvent) -> NotificationOutcome:
    if event.status == GatewayEvent.Status.INVALID:
        field_name, _, message = event.error.partition(": ")
        return invalid(field_name, message or event.error)
    if event.status == GatewayEvent.Status.UNMATCHED:
        return UNMATCHED
    refusal = cloudpayments.check_refusal_of(event.answer_code)
    return refused(refusal) if refusal else ACCEPTED


def _local_date(account: Account, note: GatewayNotification) -> date:
    moment = note.occurred_at or timezone.now()
    return moment.astimezone(ZoneInfo(account.time_zone)).date()


def _invoice_of(event: GatewayEvent, note: GatewayNotification) -> Invoice | None:
    if note.invoice_number is None:
        return None
    invoice = Invoice.objects.filter(account=event.account, number=note.invoice_number).select_related("deal").first()
    if invoice is not None:  # the account the event holds already: no second read of it on the hot path
        invoice.account = invoice.deal.account = event.account
    return invoice


def _check_currency(event: GatewayEvent, note: GatewayNotification) -> None:
    if note.currency and note.currency != event.account.currency:
        message = f"Currency {note.currency} is not the account's {event.account.currency}."
        raise NotificationInvalid("Currency", message)


def _unmatched(event: GatewayEvent, why: str) -> NotificationOutcome:
    event.status, event.error = GatewayEvent.Status.UNMATCHED, why
    logger.warning("CloudPayments %s %s for %s matched nothing: %s", event.kind, event.transaction_id,
                   event.account.slug, why)
    return UNMATCHED


def _processed(event: GatewayEvent, payment: Payment | None = None) -> NotificationOutcome:
    event.status, event.error = GatewayEvent.Status.PROCESSED, ""
    if payment is not None:
        event.payment = payment
    return ACCEPTED


def _test_mode_held(event: GatewayEvent, note: GatewayNotification) -> NotificationOutcome:
    """A TestMode notification on a live account: stored and shown, never counted as money. A Check is
    still answered truthfully (it moves no money) so the cabinet's own test sees how we judge it."""
    outcome = process_check(event, note) if event.kind == "check" else ACCEPTED
    event.status = GatewayEvent.Status.TEST_MODE
    event.error = _("TestMode notification on a live account: stored, not counted as money.")
    logger.warning("CloudPayments %s %s for %s is in test mode on a live account: not counted", event.kind,
                   event.transaction_id, event.account.slug)
    return outcome


def _account_id_matches(invoice: Invoice, note: GatewayNotification) -> bool:
    """The payer's AccountId, when sent, must be the lead of the invoice's deal (what we send on orders)."""
    return note.account_id is None or note.account_id == str(invoice.deal.external_id)


def process_check(event: GatewayEvent, note: GatewayNotification) -> NotificationOutcome:
    invoice = _invoice_of(event, note)
    event.status = GatewayEvent.Status.PROCESSED
    attempt = charge_attempt_for_reference(account=event.account, reference=note.invoice_number)
    if invoice is None and attempt is not None:
        # Our own token charge, should the gateway ask about it: the amount we asked, while we ask it.
        if attempt.status != attempt.Status.SENDING:
            return refused(CheckRefusal.NOT_PAYABLE)
        return ACCEPTED if note.amount == attempt.amount else refused(CheckRefusal.WRONG_AMOUNT)
    if invoice is None:
        return refused(CheckRefusal.UNKNOWN_INVOICE)
    if not _account_id_matches(invoice, note):
        return refused(CheckRefusal.WRONG_ACCOUNT)
    if invoice.status == Invoice.Status.EXPIRED:
        return refused(CheckRefusal.EXPIRED)
    if invoice.status not in Invoice.LIVE_STATUSES:
        return refused(CheckRefusal.NOT_PAYABLE)
    # After a partial payment the invoice is payable for what is left of it, not for its full amount.
    outstanding = invoice.amount - invoice.paid_amount
    if note.amount != outstanding or (note.currency and note.currency != event.account.currency):
        return refused(CheckRefusal.WRONG_AMOUNT)
    return ACCEPTED


def process_pay(event: GatewayEvent, note: GatewayNotification) -> NotificationOutcome:
    _check_currency(event, note)
    if note.status == "Authorized":
        return _processed(event)  # a two-stage hold: the money moves on Confirm
    return _record_gateway_payment(event, note)


def _gateway_comment(event: GatewayEvent, invoice: Invoice, note: GatewayNotification) -> str:
    with in_account_language(invoice.account):
        return gateway_payment_comment(number=invoice.number, card_last_four=note.card_last_four or "",
                                       test_mode=note.test_mode, gateway=event.gateway,
                                       sbp=event.gateway == YOOKASSA and note.card_type == "sbp")


def _record_gateway_payment(event: GatewayEvent, note: GatewayNotification) -> NotificationOutcome:
    invoice = _invoice_of(event, note)
    attempt = charge_attempt_for_reference(account=event.account, reference=note.invoice_number)
    if invoice is None and attempt is not None:
        # Our own token charge: the same recording as its answer's, whichever arrives first.
        return _processed(event, charge_attempt_settle_paid(attempt=attempt, transaction_id=note.transaction_id,
                                                            amount=note.amount))
    if invoice is None:
        return _unmatched(event, _("No invoice %(number)r in this account.") % {"number": note.invoice_number})
    if not _account_id_matches(invoice, note):
        # Money for someone else's lead is never booked to this invoice's deal: an operator sorts it out.
        return _unmatched(event, _("AccountId %(account_id)r is not lead %(external_id)s of invoice %(number)s.") % {
            "account_id": note.account_id, "external_id": invoice.deal.external_id, "number": invoice.number})
    payment, created = payment_record_from_gateway(deal=invoice.deal, amount=note.amount, payment=PaymentInput(
        method=Payment.Method.YOOKASSA if event.gateway == YOOKASSA else Payment.Method.CLOUDPAYMENTS,
        paid_at=_local_date(event.account, note),
        transaction_id=note.transaction_id, invoice_id=invoice.pk, card_token=note.token or "",
        comment=_gateway_comment(event, invoice, note),
    ))
    if created:  # the deal is still locked by the service's transaction
        _invoice_add_paid(invoice=invoice, amount=note.amount, paid_at=note.occurred_at or timezone.now())
        saved_card_capture(deal=invoice.deal, payment=payment, note=note)
    return _processed(event, payment)


def _invoice_add_paid(*, invoice: Invoice, amount: Decimal, paid_at: datetime) -> None:
    """Count what arrived; the invoice is paid only once the whole of it has, else it stays payable for
    the remainder (a short payment is a partial payment, not a paid invoice). One UPDATE: the row's own
    values decide, so concurrent partial payments of one invoice add up under its row lock."""
    now_paid = Q(paid_amount__gte=F("amount") - amount) & ~Q(status=Invoice.Status.PAID)
    Invoice.objects.filter(pk=invoice.pk).update(
        paid_amount=F("paid_amount") + amount,
        status=Case(When(now_paid, then=Value(Invoice.Status.PAID)), default=F("status")),
        paid_at=Case(When(now_paid, then=Value(paid_at)), default=F("paid_at")))


def process_confirm(event: GatewayEvent, note: GatewayNotification) -> NotificationOutcome:
    _check_currency(event, note)
    return _record_gateway_payment(event, note)


def process_fail(event: GatewayEvent, note: GatewayNotification) -> NotificationOutcome:
    invoice = _invoice_of(event, note)
    if invoice is None and charge_attempt_for_reference(account=event.account, reference=note.invoice_number):
        return _processed(event)  # a declined token charge: its answer is recorded by the charge itself
    if invoice is None:
        return _unmatched(event, _("No invoice %(number)r in this account.") % {"number": note.invoice_number})
    reason = f"{note.reason or 'Declined'} ({note.reason_code})" if note.reason_code else (note.reason or "Declined")
    Invoice.objects.filter(pk=invoice.pk).update(last_failure_reason=reason[:255], last_failure_code=note.reason_code,
                                                 failed_attempts=F("failed_attempts") + 1)
    publish(account=event.account, name=PAYMENT_FAILED, payload={
        "invoice_id": invoice.pk, "number": invoice.number, "deal_id": invoice.deal_id,
        "external_id": invoice.deal.external_id, "amount": str(note.amount), "reason": reason,
        "reason_code": note.reason_code, "reason_text": _crm_text(event.account, note.reason_code, reason),
    })
    return _processed(event)


def _crm_text(account, code: int | None, reason: str) -> str:
    """The bank's reason as the account's managers read it in the CRM notes and tasks."""
    with in_account_language(account):
        return decline_reason_text(code, reason)


def process_refund(event: GatewayEvent, note: GatewayNotification) -> NotificationOutcome:
    original = Payment.objects.filter(account=event.account, transaction_id=note.payment_transaction_id).first()
    if original is None:
        return _unmatched(event, f"No payment with transaction {note.payment_transaction_id}.")
    refund = payment_refund_record(original=original, amount=note.amount, transaction_id=note.transaction_id,
                                   paid_at=_local_date(event.account, note))
    return _processed(event, refund)


def process_cancel(event: GatewayEvent, note: GatewayNotification) -> NotificationOutcome:
    invoice = _invoice_of(event, note)
    if invoice is not None:
        Invoice.objects.filter(pk=invoice.pk).update(last_failure_reason="The card hold was cancelled.")
    return _processed(event)


def process_recurrent(event: GatewayEvent, note: GatewayNotification) -> NotificationOutcome:
    return _processed(event)  # subscription changes are stored for operators; PayPlan drives its own schedule


def process_yookassa_waiting(event: GatewayEvent, note: GatewayNotification) -> NotificationOutcome:
    return _processed(event)  # invoices are one-stage (capture: true): a hold moves no money yet


# YooKassa's events (contracts/yookassa.md §10) on the same recording as CloudPayments'; any other event
# (payment_method.active, payout.*) is stored and acknowledged.
YOOKASSA_PROCESSORS = {
    "payment.succeeded": process_confirm, "payment.canceled": process_fail,
    "payment.waiting_for_capture": process_yookassa_waiting, "refund.succeeded": process_refund,
}

PROCESSORS = {
    "check": process_check, "pay": process_pay, "fail": process_fail, "confirm": process_confirm,
    "refund": process_refund, "cancel": process_cancel, "recurrent": process_recurrent,
}

