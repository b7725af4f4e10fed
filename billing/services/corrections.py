"""Correcting recorded money: a storno of a mistaken offline payment, a refund of an online one.

Nothing is edited or deleted: each correction is a new negative payment linked to the one it corrects,
carrying who made it and why; allocations and the deal's status are recomputed from the facts.
"""
import logging
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.domain.money import ZERO, money_text
from billing.errors import ApplicationError
from billing.events import PAYMENT_REVERSED, publish
from billing.gateway.errors import GatewayAuthError, GatewayError, GatewayRejected, PaymentDeclined
from billing.gateway.interface import Gateway, Refund
from billing.models import Payment, RefundRequest
from billing.selectors.deals import payment_refundable
from billing.services.deals import active_schedule, deal_lock, deal_reallocate, deal_recompute
from billing.services.gateways import gateway_of_payment
from billing.services.payments import payment_refund_record
from billing.services.yookassa_receipts import yookassa_receipt
from billing.time import account_today
from billing.transactions import assert_no_transaction

logger = logging.getLogger(__name__)

# The gateway said no (or never took the request): nothing moved, the request is closed.
DEFINITIVE_GATEWAY_ERRORS = (GatewayRejected, PaymentDeclined, GatewayAuthError)


def _reason_checked(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        message = _("Say why the payment is corrected.")
        raise ApplicationError("reason_required", message, {"reason": [message]})
    return reason


def _correctable(payment: Payment) -> None:
    """Only an original positive payment is corrected; a correction itself is not."""
    if payment.amount <= ZERO or payment.refund_of_id is not None or payment.reversal_of_id is not None:
        raise ApplicationError("not_correctable", _("A storno or a refund cannot itself be corrected."))


@transaction.atomic
def payment_reverse(*, payment: Payment, reason: str, reversed_by: int | None) -> Payment:
    """Storno: cancel a mistaken offline payment with a negative entry of the same amount, dated today."""
    reason = _reason_checked(reason)
    deal = deal_lock(deal=payment.deal)
    original = Payment.objects.get(pk=payment.pk, account=deal.account)
    _correctable(original)
    if original.method not in Payment.REVERSIBLE_METHODS:
        raise ApplicationError("not_reversible", _(
            "Only a payment recorded by hand can be reversed; an online payment is refunded to the card."))
    if Payment.objects.filter(reversal_of=original).exists():
        raise ApplicationError("already_reversed", _("This payment has already been reversed."))
    try:
        with transaction.atomic():
            storno = Payment.objects.create(
                account=deal.account, deal=deal, amount=-original.amount, method=original.method,
                paid_at=max(account_today(deal.account), original.paid_at), reversal_of=original,
                correction_reason=reason, recorded_by=reversed_by,
            )
    except IntegrityError as exc:  # the one-storno-per-payment constraint: a racing twin got there first
        raise ApplicationError("already_reversed", _("This payment has already been reversed.")) from exc
    deal_reallocate(deal=deal, schedule=active_schedule(deal))
    deal_recompute(deal=deal)
    publish(account=deal.account, name=PAYMENT_REVERSED, payload={
        "payment_id": storno.pk, "reversal_of": original.pk, "deal_id": deal.pk, "external_id": deal.external_id,
        "method": storno.method, "amount": str(original.amount), "reason": reason, "by": reversed_by,
        "debt": str(deal.debt), "status": deal.status,
    })
    return storno


def payment_refund(*, payment: Payment, amount: Decimal, reason: str, requested_by: int | None,
                   idempotency_key: str | None = None, gateway: Gateway | None = None) -> RefundRequest:
    """Refund an online payment to the card, in full or in part: write the request and commit, call the
    gateway with no lock held, then record the outcome (the refund itself once, see payment_refund_record).
    The same `idempotency_key` again is the same request: it is answered, never sent twice."""
    assert_no_transaction()
    request, created = _refund_request_open(payment=payment, amount=amount, reason=reason,
                                            requested_by=requested_by, idempotency_key=idempotency_key)
    if not created:
        return _refund_request_repeated(request)
    yookassa = payment.method == Payment.Method.YOOKASSA
    try:
        # Back through the gateway the money came through, whatever the account uses for new invoices.
        gateway = gateway or gateway_of_payment(payment)
    except ApplicationError as exc:
        _refund_request_reject(request=request, error=exc.message)
        raise
    try:
        result = gateway.refund(Refund(transaction_id=payment.transaction_id if yookassa
                                       else int(payment.transaction_id), amount=amount,
                                       currency=payment.account.currency,
                                       receipt=yookassa_receipt(deal=payment.deal, amount=amount,
                                                                reference=request.request_id) if yookassa else None),
                                request_id=request.request_id)
    except DEFINITIVE_GATEWAY_ERRORS as exc:
        _refund_request_reject(request=request, error=exc.message)
        raise (_yookassa_rejected(exc.message) if yookassa else _rejected(exc.message)) from exc
    except GatewayError as exc:
        # The outcome is unknown: the request stays open (its amount reserved) until the Refund
        # notification (YooKassa: refund.succeeded) settles it or an operator closes it.
        logger.warning("Refund request %s: gateway outcome unknown: %s", request.pk, exc.message)
        raise (_yookassa_outcome_unknown() if yookassa else _outcome_unknown()) from exc
    payment_refund_record(original=payment, amount=amount, transaction_id=str(result.transaction_id),
                          paid_at=account_today(payment.account), request_id=request.pk)
    request.refresh_from_db()
    return request


def _rejected(error: str) -> ApplicationError:
    return ApplicationError("refund_rejected", _("CloudPayments refused the refund: %(reason)s") % {"reason": error})


def _yookassa_rejected(error: str) -> ApplicationError:
    return ApplicationError("refund_rejected", _("YooKassa refused the refund: %(reason)s") % {"reason": error})


def _yookassa_outcome_unknown() -> ApplicationError:
    return ApplicationError("gateway_unavailable", _(
        "YooKassa has not confirmed the refund yet. It may still go through: the card will show it once "
        "YooKassa confirms; do not repeat it before then."), status=503)


def _outcome_unknown() -> ApplicationError:
    return ApplicationError("gateway_unavailable", _(
        "CloudPayments did not answer. The refund may still go through: the card will show it once "
        "CloudPayments confirms; do not repeat it before then."), status=503)


def _refund_request_repeated(request: RefundRequest) -> RefundRequest:
    if request.status == RefundRequest.Status.REJECTED:
        raise _rejected(request.error)
    if request.status == RefundRequest.Status.PENDING:
        raise ApplicationError("refund_in_progress", _(
            "This refund is already being sent to CloudPayments; the card will show it shortly."), status=409)
    return request


@transaction.atomic
def _refund_request_open(*, payment: Payment, amount: Decimal, reason: str, requested_by: int | None,
                         idempotency_key: str | None) -> tuple[RefundRequest, bool]:
    reason = _reason_checked(reason)
    deal = deal_lock(deal=payment.deal)
    if idempotency_key:
        # Under the deal lock: a concurrent twin with the same key waits here and then finds the first.
        seen = RefundRequest.objects.filter(account=deal.account, idempotency_key=idempotency_key).first()
        if seen is not None:
            if (seen.payment_id, seen.amount, seen.reason) != (payment.pk, amount, reason):
                raise ApplicationError("idempotency_key_reused", _(
                    "This Idempotency-Key was already used with another request body."), status=409)
            return seen, False
    original = Payment.objects.select_for_update(of=("self",)).get(pk=payment.pk, account=deal.account)
    _correctable(original)
    if original.method not in Payment.REFUNDABLE_METHODS or not original.transaction_id:
        raise ApplicationError("not_refundable", _(
            "Only a CloudPayments payment can be refunded to the card; a payment recorded by hand is reversed."))
    refundable = payment_refundable(original)
    if not ZERO < amount <= refundable:
        message = _("At most %(refundable)s can be refunded from this payment.") % {
            "refundable": money_text(refundable)}
        raise ApplicationError("refund_exceeds_payment", message, {"amount": [message]})
    number = original.refund_requests.count() + 1
    return RefundRequest.objects.create(
        account=deal.account, payment=original, amount=amount, reason=reason, requested_by=requested_by,
        request_id=f"refund:{deal.account_id}:{original.pk}:{number}", idempotency_key=idempotency_key or None,
    ), True


@transaction.atomic
def _refund_request_reject(*, request: RefundRequest, error: str) -> None:
    RefundRequest.objects.filter(pk=request.pk, status=RefundRequest.Status.PENDING).update(
        status=RefundRequest.Status.REJECTED, error=error[:255], completed_at=timezone.now())
