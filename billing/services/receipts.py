"""Fiscal receipts (54-FZ, CloudKassir kkt/receipt) for recorded payments: optional per account,
flagged `pending` in the payment's transaction, sent by the event relay (retried with backoff, dead-lettered
when it keeps failing), never in the way of the payment itself."""
import logging

from django.db.models import F
from django.utils.translation import pgettext

from billing.domain.account_settings import FiscalReceipts, fiscal_read
from billing.events import PAYMENT_RECORDED, PAYMENT_REFUNDED, PAYMENT_REVERSED, register_handler, subscribe
from billing.gateway.errors import GatewayError
from billing.gateway.interface import FiscalReceipt, Gateway
from billing.models import Account, Direction, DomainEvent, Payment, Schedule
from billing.names import deal_service_name
from billing.services.gateways import cloudpayments_gateway
from billing.texts import in_account_language
from billing.transactions import assert_no_transaction

logger = logging.getLogger(__name__)

CASH_METHODS = {Payment.Method.CASH}


# The typed fiscal section of the account's settings (billing.domain.account_settings).
ReceiptSettings = FiscalReceipts


def gateway_for(account: Account) -> Gateway:
    """CloudKassir is CloudPayments' cash register: receipts go there whatever gateway takes the money
    (YooKassa payments carry their own receipt and never get here)."""
    return cloudpayments_gateway(account)


def receipt_settings(account: Account) -> ReceiptSettings:
    return fiscal_read(account.settings)


def receipt_for(payment: Payment, settings: ReceiptSettings) -> FiscalReceipt:
    amount = abs(payment.amount)
    deal = payment.deal
    with in_account_language(deal.account):
        label = settings.item_label or deal_service_name(deal)
        if deal.contract_number:
            label = pgettext("fiscal receipt item", "%(service)s under contract No. %(number)s") % {
                "service": label, "number": deal.contract_number}
    item = {"Label": label[:128], "Price": amount, "Quantity": 1,
            "Amount": amount, "Vat": settings.vat, "Method": settings.method, "Object": settings.object}
    customer: dict = {"Items": [item], "TaxationSystem": settings.taxation_system,
                      "Email": deal.contact_email or None, "Phone": deal.contact_phone or None}
    if payment.method not in CASH_METHODS:
        customer["Amounts"] = {"Electronic": amount}
    return FiscalReceipt(
        inn=settings.inn, receipt_type="IncomeReturn" if payment.amount < 0 else "Income",
        customer_receipt={key: value for key, value in customer.items() if value is not None},
        invoice_id=payment.invoice.number if payment.invoice_id else None, account_id=str(deal.external_id),
    )


def payment_is_payout(payment: Payment) -> bool:
    """Money of an outgoing plan (the company pays the client) is not income: it never gets a receipt.
    The deal's direction follows its active plan; the plan itself is asked too, in case they drift."""
    if payment.deal.direction == Direction.OUTGOING:
        return True
    return Schedule.objects.filter(deal_id=payment.deal_id, is_active=True, direction=Direction.OUTGOING).exists()


def _mark_pending(event: DomainEvent) -> None:
    """In the payment's own transaction: flag the receipt; the relay's `billing.fiscal_receipt` sends it."""
    if event.payload.get("method") == Payment.Method.OPENING_BALANCE or not receipt_settings(event.account).enabled:
        return
    if event.payload.get("method") == Payment.Method.YOOKASSA:
        return  # its 54-FZ receipt went with the YooKassa payment itself (billing.services.invoicing)
    payment_id = event.payload["payment_id"]
    if payment_is_payout(Payment.objects.select_related("deal").get(pk=payment_id)):
        return
    Payment.objects.filter(pk=payment_id).update(receipt_status="pending")


def _mark_storno_pending(event: DomainEvent) -> None:
    """A storno returns income only if the reversed payment was reported (or is about to be): then the
    storno gets a return receipt (IncomeReturn), sent by the same relay handler."""
    reported = Payment.objects.filter(pk=event.payload["reversal_of"], receipt_status__in=("pending", "queued"))
    if reported.exists():
        _mark_pending(event)


RECEIPT_TO_SEND = ("pending", "failed")


def on_payment_committed(event: DomainEvent) -> None:
    """Relay handler: send a flagged receipt. The payment's receipt status is the durable mark: a queued
    receipt is never sent again, and a resend after a crash reuses the X-Request-ID the gateway remembers."""
    payment_id = event.payload["payment_id"]
    if not Payment.objects.filter(pk=payment_id, receipt_status__in=RECEIPT_TO_SEND).exists():
        return
    payment_receipt_send(payment_id=payment_id)


def payment_receipt_send(*, payment_id: int, gateway: Gateway | None = None) -> Payment:
    """Send the payment's receipt unless it was sent; a failure is recorded and raised for a retry."""
    assert_no_transaction()
    payment = Payment.objects.select_related("account", "deal", "invoice").get(pk=payment_id)
    if payment.receipt_status == "queued":
        return payment
    if payment_is_payout(payment):  # whatever path asked: a payout is never reported as income
        Payment.objects.filter(pk=payment_id).update(receipt_status="", receipt_error="")
        return payment
    settings = receipt_settings(payment.account)
    if not settings.inn:
        Payment.objects.filter(pk=payment_id).update(receipt_status="failed",
                                                     receipt_error="The account's INN is not set.")
        return payment
    gateway = gateway or gateway_for(payment.account)
    try:
        queued = gateway.create_receipt(receipt_for(payment, settings),
                                        request_id=f"receipt:{payment.account_id}:{payment.pk}")
    except GatewayError as exc:
        Payment.objects.filter(pk=payment_id).update(receipt_status="failed", receipt_error=exc.message[:255],
                                                     receipt_attempts=F("receipt_attempts") + 1)
        raise
    Payment.objects.filter(pk=payment_id).update(receipt_status="queued", receipt_id=queued.receipt_id,
                                                 receipt_error="", receipt_attempts=F("receipt_attempts") + 1)
    payment.refresh_from_db()
    return payment


def register() -> None:
    subscribe(PAYMENT_RECORDED, _mark_pending)
    subscribe(PAYMENT_REFUNDED, _mark_pending)
    subscribe(PAYMENT_REVERSED, _mark_storno_pending)
    register_handler(PAYMENT_RECORDED, "billing.fiscal_receipt", on_payment_committed)
    register_handler(PAYMENT_REFUNDED, "billing.fiscal_receipt", on_payment_committed)
    register_handler(PAYMENT_REVERSED, "billing.fiscal_receipt", on_payment_committed)


