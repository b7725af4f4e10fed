"""Invoices: reserve a gapless number and a row, call the gateway outside any lock, record the order.

A crash between the steps never makes two orders: the row (state `creating`) and its X-Request-ID
exist before the call, a retry within the gateway's one-hour memory gets the same order back, and a
row stuck longer than that is reconciled by an operator, never re-created silently.
"""
import logging
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.client_links import client_page_url
from billing.domain.account_settings import invoicing_read
from billing.domain.money import ZERO
from billing.errors import ApplicationError, NotFound
from billing.events import INVOICE_ISSUED, INVOICES_CANCELLED, DeliveryRefused, publish, register_handler
from billing.gateway.errors import GatewayError, GatewayUnavailable
from billing.gateway.interface import CreateOrder, Gateway
from billing.models import Account, Deal, Direction, DomainEvent, Installment, Invoice, InvoiceCounter
from billing.names import deal_service_name
from billing.services.autopay import installments_autopay_managed
from billing.services.deals import deal_lock
from billing.services.gateways import YOOKASSA, gateway_for, gateway_name_for, gateway_named
from billing.services.yookassa_receipts import yookassa_receipt
from billing.texts import in_account_language
from billing.time import account_today
from billing.transactions import assert_no_transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InvoiceIssued:
    invoice: Invoice
    created: bool  # False when the live invoice of the installment was returned


def invoice_number_next(*, account: Account, year: int) -> tuple[int, str]:
    """The next number of the account's year under a row lock: a rolled-back invoice gives its number back."""
    try:
        with transaction.atomic():
            InvoiceCounter.objects.get_or_create(account=account, year=year)
    except IntegrityError:
        pass  # another transaction created the counter first; the lock below waits for it
    counter = InvoiceCounter.objects.select_for_update(no_key=True).get(account=account, year=year)
    counter.last_number = F("last_number") + 1
    counter.save(update_fields=["last_number"])
    counter.refresh_from_db(fields=["last_number"])
    return counter.last_number, f"{year}-{counter.last_number:06d}"


@transaction.atomic
def invoice_reserve(*, installment_id: int, today: date | None = None) -> InvoiceIssued:
    """Write the invoice row (state `creating`) for an installment, or return its live invoice."""
    installment = Installment.objects.select_related("schedule__deal__account").filter(pk=installment_id).first()
    if installment is None:
        raise NotFound("installment_not_found", _("No such installment."))
    deal = deal_lock(deal=installment.schedule.deal)
    installment = (Installment.objects.select_for_update(no_key=True, of=("self",)).select_related("schedule")
                   .get(pk=installment_id))
    live = Invoice.objects.filter(installment=installment, status__in=Invoice.LIVE_STATUSES).first()
    if live is not None:
        return InvoiceIssued(live, created=False)
    _check_invoiceable(deal, installment)
    account = deal.account
    year = (today or account_today(account)).year
    sequence, number = invoice_number_next(account=account, year=year)
    invoice = Invoice.objects.create(
        account=account, deal=deal, installment=installment, year=year, sequence=sequence, number=number,
        amount=installment.amount - installment.paid, status=Invoice.Status.CREATING,
        gateway_request_id=f"order:{account.pk}:{number}:1", gateway=gateway_name_for(account),
    )
    return InvoiceIssued(invoice, created=True)


@transaction.atomic
def invoice_reserve_remainder(*, deal_id: int, today: date | None = None) -> InvoiceIssued:
    """«Оплатить всё»: one invoice for the whole remaining debt, tied to the last unpaid line. An open one for
    exactly that debt is returned (a second click makes no second order); a stale one (the debt changed) is
    cancelled and replaced. When one line is left, its own live invoice already is «всё»."""
    deal = Deal.objects.select_related("account").filter(pk=deal_id).first()
    if deal is None:
        raise NotFound("deal_not_found", _("No such deal."))
    deal = deal_lock(deal=deal)
    unpaid = list(Installment.objects.select_for_update(no_key=True, of=("self",)).select_related("schedule")
                  .filter(schedule__deal=deal, schedule__is_active=True, paid__lt=F("amount")).order_by("seq"))
    if not unpaid:
        raise ApplicationError("nothing_to_pay", _("Nothing is left to pay."))
    remainder = sum((line.amount - line.paid for line in unpaid), ZERO)
    last = unpaid[-1]
    _check_invoiceable(deal, last)
    live = Invoice.objects.filter(deal=deal, installment__in=unpaid, status__in=Invoice.LIVE_STATUSES)
    same = next((invoice for invoice in live.filter(installment=last)
                 if invoice.amount - invoice.paid_amount == remainder), None)
    if same is not None:
        return InvoiceIssued(same, created=False)
    invoices_cancel(invoices=list(live.filter(Q(covers_remainder=True) | Q(installment=last))),
                    reason="Replaced by an invoice for the whole remaining debt.")
    account = deal.account
    year = (today or account_today(account)).year
    sequence, number = invoice_number_next(account=account, year=year)
    invoice = Invoice.objects.create(
        account=account, deal=deal, installment=last, year=year, sequence=sequence, number=number,
        amount=remainder, status=Invoice.Status.CREATING, covers_remainder=True,
        gateway_request_id=f"order:{account.pk}:{number}:1", gateway=gateway_name_for(account),
    )
    return InvoiceIssued(invoice, created=True)


def invoice_issue_remainder(*, deal_id: int, gateway: Gateway | None = None,
                            today: date | None = None) -> InvoiceIssued:
    """Reserve the remainder invoice (committed), then create its gateway order with no lock held."""
    assert_no_transaction()
    issued = invoice_reserve_remainder(deal_id=deal_id, today=today)
    if issued.invoice.status != Invoice.Status.CREATING:
        return issued
    return InvoiceIssued(invoice_order_create(invoice=issued.invoice, gateway=gateway), created=issued.created)


def _check_invoiceable(deal: Deal, installment: Installment) -> None:
    if not installment.schedule.is_active:
        raise ApplicationError("installment_replaced", _("This line belongs to a plan that was replaced."))
    if installment.schedule.direction == Direction.OUTGOING:
        raise ApplicationError("outgoing_plan", _("Outgoing plans are paid by us: they have no invoices."))
    if deal.cancelled_at is not None:
        raise ApplicationError("deal_cancelled", _("The deal is cancelled."))
    if installment.paid >= installment.amount:
        raise ApplicationError("installment_paid", _("Payment %(seq)s is already paid.") % {"seq": installment.seq},
                               {"installment_seq": [_("Already paid.")]})


def invoice_issue(*, installment_id: int, gateway: Gateway | None = None, today: date | None = None) -> InvoiceIssued:
    """Reserve (committed: the number, row and request id survive whatever follows), then create the
    gateway order with no lock held. The gateway being down leaves the row `creating` for the tick."""
    assert_no_transaction()
    issued = invoice_reserve(installment_id=installment_id, today=today)
    if issued.invoice.status != Invoice.Status.CREATING:
        return issued
    invoice = invoice_order_create(invoice=issued.invoice, gateway=gateway)
    return InvoiceIssued(invoice, created=issued.created)


def _reconciled_comment(invoice: Invoice) -> str:
    with in_account_language(invoice.account):
        return _("CloudPayments, invoice %(number)s (reconciled)") % {"number": invoice.number}


def _order_for(invoice: Invoice) -> CreateOrder:
    deal = invoice.deal
    json_data = {"payplan": {"invoice": invoice.number, "installment_seq": invoice.installment.seq}}
    if invoice.covers_remainder:
        json_data["payplan"]["covers_remainder"] = True
    with in_account_language(invoice.account):
        description = _("%(service)s, invoice %(number)s") % {"service": deal_service_name(deal),
                                                               "number": invoice.number}
    yookassa = invoice.gateway == YOOKASSA
    return CreateOrder(
        # YooKassa: a saved method is asked for on autopay plans (§7), and the 54-FZ receipt rides along (§9).
        save_payment_method=yookassa and invoice.installment.schedule.autopay,
        receipt=invoice_receipt(invoice) if yookassa else None,
        amount=invoice.amount, currency=invoice.account.currency,
        # The client reads this on the payment page and in the bank's SMS: never the lead's CRM title.
        description=description, invoice_id=invoice.number,
        account_id=str(deal.external_id), email=deal.contact_email or None, phone=deal.contact_phone or None,
        json_data=json_data,
        # After paying (or failing) the client comes back to their plan page, which shows the result.
        success_redirect_url=client_page_url(deal), fail_redirect_url=client_page_url(deal),
    )


def _gateway_of(invoice: Invoice) -> Gateway:
    """The gateway the invoice was made on: the account's current one, or the one it used before a switch."""
    if invoice.gateway == gateway_name_for(invoice.account):
        return gateway_for(invoice.account)
    return gateway_named(invoice.account, invoice.gateway)


def invoice_receipt(invoice: Invoice) -> dict | None:
    """YooKassa's `receipt` for the invoice's amount (billing.services.yookassa_receipts)."""
    return yookassa_receipt(deal=invoice.deal, amount=invoice.amount, reference=invoice.number)


def invoice_order_create(*, invoice: Invoice, gateway: Gateway | None = None) -> Invoice:
    """Create the gateway order of a `creating` invoice on its own gateway (no lock held), then record it."""
    assert_no_transaction()
    try:
        gateway = gateway or _gateway_of(invoice)
    except ApplicationError as exc:  # the invoice's gateway lost its keys meanwhile: refused, kept for a retry
        return _invoice_mark_failed(invoice_id=invoice.pk, reason=exc.message)
    try:
        order = gateway.create_order(_order_for(invoice), request_id=invoice.gateway_request_id)
    except GatewayUnavailable as exc:
        logger.warning("invoice %s: gateway unavailable, left creating: %s", invoice.number, exc.message)
        return invoice
    except GatewayError as exc:
        return _invoice_mark_failed(invoice_id=invoice.pk, reason=exc.message)
    return _invoice_record_order(invoice_id=invoice.pk, order_id=order.order_id, url=order.url)


@transaction.atomic
def _invoice_record_order(*, invoice_id: int, order_id: str, url: str) -> Invoice:
    invoice = (Invoice.objects.select_for_update(no_key=True, of=("self",)).select_related("deal", "installment")
               .get(pk=invoice_id))
    invoice.gateway_order_id, invoice.payment_url = order_id, url
    if invoice.status == Invoice.Status.CREATING:
        invoice.status, invoice.issued_at = Invoice.Status.ISSUED, timezone.now()
        invoice.save()
        publish(account=invoice.account, name=INVOICE_ISSUED, payload={
            "invoice_id": invoice.pk, "number": invoice.number, "deal_id": invoice.deal_id,
            "external_id": invoice.deal.external_id, "amount": str(invoice.amount), "payment_url": url,
            "due_date": invoice.installment.due_date.isoformat(),
        })
    else:
        # Cancelled while the order was being made: the order exists now and must be cancelled too.
        invoice.gateway_cancel_pending = True
        invoice.save()
        _gateway_cancels_publish([invoice])
    return invoice


@transaction.atomic
def _invoice_mark_failed(*, invoice_id: int, reason: str) -> Invoice:
    invoice = Invoice.objects.select_for_update(no_key=True).get(pk=invoice_id)
    if invoice.status == Invoice.Status.CREATING:
        invoice.status = Invoice.Status.FAILED
        invoice.last_failure_reason = reason[:255]
        invoice.save(update_fields=["status", "last_failure_reason"])
        logger.error("invoice %s: the gateway refused the order: %s", invoice.number, reason)
    return invoice


def invoices_cancel(*, invoices: list[Invoice], reason: str) -> None:
    """Cancel live invoices in the caller's transaction; their gateway orders are cancelled by the event
    relay once it commits."""
    live = [invoice for invoice in invoices if invoice.status in Invoice.LIVE_STATUSES]
    if not live:
        return
    ids = [invoice.pk for invoice in live]
    Invoice.objects.filter(pk__in=ids).update(status=Invoice.Status.CANCELLED, last_failure_reason=reason[:255])
    Invoice.objects.filter(pk__in=ids).exclude(gateway_order_id="").update(gateway_cancel_pending=True)
    _gateway_cancels_publish([invoice for invoice in live if invoice.gateway_order_id])


def _gateway_cancels_publish(invoices: list[Invoice]) -> None:
    """The `invoices_cancelled` event: its delivery to `billing.gateway_cancel` is the durable to-do."""
    if not invoices:
        return
    first = invoices[0]
    publish(account=first.account, name=INVOICES_CANCELLED, payload={
        "deal_id": first.deal_id, "invoice_ids": [invoice.pk for invoice in invoices],
        "numbers": [invoice.number for invoice in invoices]})


def on_invoices_cancelled(event: DomainEvent) -> None:
    """Relay handler: orders/cancel for each invoice still flagged. A gateway that is down is retried
    (the ones already cancelled are skipped by their flag); a refusal is dead-lettered for an operator."""
    refused = []
    for invoice_id in event.payload["invoice_ids"]:
        try:
            invoice_gateway_cancel(invoice_id=invoice_id)
        except GatewayUnavailable:
            raise
        except GatewayError as exc:
            logger.error("invoice %s: the gateway refused to cancel the order: %s", invoice_id, exc.message)
            refused.append(f"invoice {invoice_id}: {exc.message}")
    if refused:
        raise DeliveryRefused("; ".join(refused))


def invoice_gateway_cancel(*, invoice_id: int, gateway: Gateway | None = None) -> None:
    """orders/cancel for a cancelled invoice whose order exists; safe to run twice."""
    assert_no_transaction()
    invoice = Invoice.objects.select_related("account").get(pk=invoice_id)
    if not invoice.gateway_cancel_pending or not invoice.gateway_order_id:
        return
    gateway = gateway or _gateway_of(invoice)
    gateway.cancel_order(invoice.gateway_order_id, request_id=f"cancel:{invoice.account_id}:{invoice.number}")
    Invoice.objects.filter(pk=invoice_id).update(gateway_cancel_pending=False)


def installments_due_for_invoice(*, account: Account, today: date) -> list[int]:
    """Unpaid lines of active incoming plans whose invoice date (due date − lead days) has come and
    that have no live, paid or refused invoice: a line is never billed twice automatically. Lines a saved
    card pays (autopay) get a link only once autopay gives up on them."""
    lead_days = invoicing_read(account.settings).lead_days
    return list(
        Installment.objects.filter(
            schedule__deal__account=account, schedule__is_active=True, schedule__direction=Direction.INCOMING,
            schedule__deal__cancelled_at__isnull=True, due_date__lte=today + timedelta(days=lead_days),
            paid__lt=F("amount"),
        )
        .exclude(invoices__status__in=[*Invoice.LIVE_STATUSES, Invoice.Status.PAID, Invoice.Status.FAILED])
        .exclude(installments_autopay_managed())
        .order_by("due_date", "pk")
        .values_list("pk", flat=True)
    )


def invoices_stuck_creating(*, account: Account) -> list[Invoice]:
    """`creating` rows older than the gateway's request-id memory: an operator must reconcile them."""
    cutoff = timezone.now() - timedelta(minutes=settings.CLOUDPAYMENTS_REQUEST_ID_TTL_MINUTES)
    return list(Invoice.objects.filter(account=account, status=Invoice.Status.CREATING, created_at__lt=cutoff))


def invoices_retry_creating(*, account: Account, gateway: Gateway | None = None) -> int:
    """Retry `creating` rows still inside the request-id memory: the same X-Request-ID, so one order
    (chunked, gateway calls from the tick's pool: billing.services.invoice_batches)."""
    from billing.services.invoice_batches import invoices_retry_creating_chunked

    report = invoices_retry_creating_chunked(account=account, gateway=gateway)
    return len(report.issued) + report.pending


@dataclass(frozen=True)
class Reconciliation:
    invoice: Invoice
    outcome: str  # "paid", "recreated", "not_found", "not_stuck"


def invoice_reconcile(*, invoice_id: int, recreate: bool = False, gateway: Gateway | None = None) -> Reconciliation:
    """Settle a `creating` invoice the gateway no longer remembers: find its payment by InvoiceId, or,
    only when an operator says so, create the order again under a new request id."""
    from billing.services.payments import PaymentInput, payment_record_from_gateway

    assert_no_transaction()
    invoice = Invoice.objects.select_related("account", "deal", "installment").get(pk=invoice_id)
    if invoice.status != Invoice.Status.CREATING:
        return Reconciliation(invoice, "not_stuck")
    gateway = gateway or _gateway_of(invoice)
    found = gateway.find_payment(invoice.number)
    if found is not None and found.status in ("Completed", "Authorized"):
        with transaction.atomic():
            deal_lock(deal=invoice.deal)
            Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.PAID, paid_at=timezone.now(),
                                                         paid_amount=found.amount)
            payment_record_from_gateway(deal=invoice.deal, amount=found.amount, payment=PaymentInput(
                method="cloudpayments", paid_at=account_today(invoice.account),
                transaction_id=str(found.transaction_id), invoice_id=invoice.pk,
                comment=_reconciled_comment(invoice)))
        invoice.refresh_from_db()
        return Reconciliation(invoice, "paid")
    if not recreate:
        return Reconciliation(invoice, "not_found")
    attempt = invoice.gateway_attempt + 1
    Invoice.objects.filter(pk=invoice.pk).update(
        gateway_attempt=attempt, gateway_request_id=f"order:{invoice.account_id}:{invoice.number}:{attempt}",
        created_at=timezone.now())
    invoice.refresh_from_db()
    return Reconciliation(invoice_order_create(invoice=invoice, gateway=gateway), "recreated")


def register() -> None:
    register_handler(INVOICES_CANCELLED, "billing.gateway_cancel", on_invoices_cancelled)
