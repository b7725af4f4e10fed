"""Recording money that arrived: offline entries by a manager, gateway payments, full payments."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.domain.money import MAX_AMOUNT, ZERO
from billing.errors import ApplicationError
from billing.events import PAYMENT_RECORDED, PAYMENT_REFUNDED, publish
from billing.models import Deal, Payment, RefundRequest
from billing.services.deals import active_schedule, deal_lock, deal_reallocate, deal_recompute
from billing.texts import in_account_language, money_text
from billing.time import account_today


@dataclass(frozen=True)
class PaymentInput:
    method: str
    paid_at: date
    recorded_by: int | None = None
    comment: str = ""
    transaction_id: str | None = None
    idempotency_key: str | None = None
    invoice_id: int | None = None
    card_token: str = ""


@transaction.atomic
def payment_record(*, deal: Deal, amount: Decimal, payment: PaymentInput, allow_credit: bool = False) -> Payment:
    """Record a payment against the deal's active plan. Overpayment is refused unless `allow_credit`
    (money that already arrived through the gateway is kept as credit, never lost)."""
    deal = deal_lock(deal=deal)
    existing = _already_recorded(deal, payment)
    if existing is not None:
        return existing
    _check_payable(deal, amount, payment)
    if amount > deal.debt and not allow_credit:
        message = _("The amount %(amount)s is more than the debt of %(debt)s.") % {
            "amount": money_text(amount, deal.account.currency), "debt": money_text(deal.debt, deal.account.currency)}
        raise ApplicationError("overpayment", message, {"amount": [message]})
    return _payment_create(deal=deal, amount=amount, payment=payment)


@transaction.atomic(savepoint=False)  # on the Pay hot path the caller's savepoint already bounds a failure
def payment_record_from_gateway(*, deal: Deal, amount: Decimal, payment: PaymentInput) -> tuple[Payment, bool]:
    """Money that already moved through the gateway: always recorded (excess kept as credit), once per
    transaction id. Returns the payment and whether it is new."""
    deal = deal_lock(deal=deal)
    existing = _already_recorded(deal, payment)
    if existing is not None:
        return existing, False
    if not ZERO < amount <= MAX_AMOUNT:
        raise ApplicationError("invalid_amount", _("The amount must be greater than zero."),
                               {"amount": [_("Must be greater than zero.")]})
    return _payment_create(deal=deal, amount=amount, payment=payment), True


@transaction.atomic
def payment_refund_record(*, original: Payment, amount: Decimal, transaction_id: str, paid_at: date,
                          request_id: int | None = None) -> Payment:
    """A refund is its own negative payment linked to the original; the debt re-opens.

    Recorded once per refund TransactionId, whichever comes first: the gateway's answer to a refund asked
    from the card (`request_id`), or the Refund notification, which finds that request by the refund's
    TransactionId (or, should it arrive before the answer, as the open request of the same amount)."""
    deal = deal_lock(deal=original.deal)
    request = _refund_request_for(original=original, amount=amount, transaction_id=transaction_id,
                                  request_id=request_id)
    existing = Payment.objects.filter(account=deal.account, transaction_id=transaction_id).first()
    if existing is not None:
        _refund_request_settle(request=request, refund=existing, transaction_id=transaction_id)
        return existing
    refunded = -sum((refund.amount for refund in original.refunds.all()), ZERO)
    if not ZERO < amount <= original.amount - refunded:
        currency = deal.account.currency
        message = _("A refund of %(amount)s exceeds the %(left)s left of payment %(payment)s.") % {
            "amount": money_text(amount, currency), "left": money_text(original.amount - refunded, currency),
            "payment": original.pk}
        raise ApplicationError("refund_exceeds_payment", message, {"amount": [message]})
    refund = Payment.objects.create(
        account=deal.account, deal=deal, amount=-amount, method=original.method, paid_at=paid_at,
        transaction_id=transaction_id, refund_of=original, comment=_refund_comment(deal, original.pk),
        correction_reason=request.reason if request else "", recorded_by=request.requested_by if request else None,
    )
    _refund_request_settle(request=request, refund=refund, transaction_id=transaction_id)
    schedule = active_schedule(deal)
    deal_reallocate(deal=deal, schedule=schedule)
    deal_recompute(deal=deal)
    publish(account=deal.account, name=PAYMENT_REFUNDED, payload={
        "payment_id": refund.pk, "refund_of": original.pk, "deal_id": deal.pk, "external_id": deal.external_id,
        "method": refund.method, "reason": refund.correction_reason, "by": refund.recorded_by,
        "amount": str(amount), "debt": str(deal.debt), "status": deal.status,
    })
    return refund


def _refund_request_for(*, original: Payment, amount: Decimal, transaction_id: str,
                        request_id: int | None) -> RefundRequest | None:
    requests = RefundRequest.objects.select_for_update(of=("self",)).filter(account=original.account)
    if request_id is not None:
        return requests.get(pk=request_id)
    return (requests.filter(refund_transaction_id=transaction_id).first()
            or requests.filter(payment=original, amount=amount, status=RefundRequest.Status.PENDING,
                               refund_transaction_id__isnull=True).order_by("id").first())


def _refund_request_settle(*, request: RefundRequest | None, refund: Payment, transaction_id: str) -> None:
    if request is None or request.refund_id is not None:
        return
    request.status, request.refund, request.refund_transaction_id = (
        RefundRequest.Status.SUCCEEDED, refund, transaction_id)
    request.completed_at, request.error = timezone.now(), ""
    request.save(update_fields=["status", "refund", "refund_transaction_id", "completed_at", "error"])


@transaction.atomic
def payment_record_full(*, deal: Deal, payment: PaymentInput) -> Payment:
    """Record the exact remaining debt as paid; the deal becomes `paid`."""
    deal = deal_lock(deal=deal)
    existing = _already_recorded(deal, payment)
    if existing is not None:
        return existing
    if active_schedule(deal) is not None and deal.debt <= ZERO:
        raise ApplicationError("nothing_to_pay", _("The deal has no debt left to pay."))
    _check_payable(deal, deal.debt, payment)
    return _payment_create(deal=deal, amount=deal.debt, payment=payment)


def _already_recorded(deal: Deal, payment: PaymentInput) -> Payment | None:
    """The same gateway transaction or idempotency key seen again is the same payment, not a new one."""
    lookups = []
    if payment.transaction_id:
        lookups.append({"transaction_id": payment.transaction_id})
    if payment.idempotency_key:
        lookups.append({"idempotency_key": payment.idempotency_key})
    for lookup in lookups:
        found = Payment.objects.filter(account=deal.account, **lookup).first()
        if found is not None:
            return found
    return None


def _check_payable(deal: Deal, amount: Decimal, payment: PaymentInput) -> None:
    if deal.cancelled_at is not None:
        raise ApplicationError("deal_cancelled", _("The deal is cancelled; payments cannot be recorded."))
    if active_schedule(deal) is None:
        raise ApplicationError("no_plan", _("The deal has no payment plan yet."))
    if not ZERO < amount <= MAX_AMOUNT:
        raise ApplicationError("invalid_amount", _("The amount must be greater than zero."),
                               {"amount": [_("Must be greater than zero.")]})
    if payment.paid_at > account_today(deal.account):
        raise ApplicationError("paid_at_in_future", _("The payment date cannot be in the future."),
                               {"paid_at": [_("Cannot be in the future.")]})


def _refund_comment(deal: Deal, payment_id: int) -> str:
    """Stored as the account's people read it, whoever's browser made the refund."""
    with in_account_language(deal.account):
        return _("Refund of payment %(payment)s") % {"payment": payment_id}


def _payment_create(*, deal: Deal, amount: Decimal, payment: PaymentInput) -> Payment:
    recorded = Payment.objects.create(
        account=deal.account, deal=deal, amount=amount, method=payment.method, paid_at=payment.paid_at,
        transaction_id=payment.transaction_id, idempotency_key=payment.idempotency_key,
        comment=payment.comment, recorded_by=payment.recorded_by, invoice_id=payment.invoice_id,
        card_token=payment.card_token,
    )
    schedule = active_schedule(deal)
    installments = deal_reallocate(deal=deal, new_payment=recorded, schedule=schedule)
    deal_recompute(deal=deal, held=(schedule, installments))
    publish(account=deal.account, name=PAYMENT_RECORDED, payload={
        "payment_id": recorded.pk, "deal_id": deal.pk, "external_id": deal.external_id, "amount": str(amount),
        "method": recorded.method, "debt": str(deal.debt), "status": deal.status,
        "invoice_id": recorded.invoice_id,
    })
    return recorded
