"""Keeping live invoices true to the plan: a replaced or paid line's order must not stay payable."""
from billing.domain.money import ZERO
from billing.events import PAYMENT_RECORDED, SCHEDULE_CHANGED, subscribe
from billing.models import DomainEvent, Installment, Invoice
from billing.services.invoicing import invoices_cancel


def on_schedule_changed(event: DomainEvent) -> None:
    """Lines that survive a rebuild (same date, kind and amount) keep their invoice; the rest are cancelled."""
    previous_id = event.payload.get("previous_schedule_id")
    if previous_id is None:
        return
    new_lines = {
        (line.due_date, line.kind, line.amount): line
        for line in Installment.objects.filter(schedule_id=event.payload["schedule_id"])
    }
    to_cancel = []
    for invoice in Invoice.objects.filter(installment__schedule_id=previous_id, status__in=Invoice.LIVE_STATUSES
                                          ).select_related("installment"):
        old = invoice.installment
        successor = new_lines.pop((old.due_date, old.kind, old.amount), None)
        if successor is not None and successor.amount - successor.paid == invoice.amount:
            Invoice.objects.filter(pk=invoice.pk).update(installment=successor)
        else:
            to_cancel.append(invoice)
    invoices_cancel(invoices=to_cancel, reason="The payment plan was changed.")


def on_payment_recorded(event: DomainEvent) -> None:
    """An installment paid by other means no longer needs its open payment link (the invoice the money
    came through is marked paid by its own webhook)."""
    paid_lines = Invoice.objects.filter(
        deal_id=event.payload["deal_id"], status__in=Invoice.LIVE_STATUSES,
        installment__schedule__is_active=True,
    ).exclude(pk=event.payload.get("invoice_id")).select_related("installment")
    covered = [invoice for invoice in paid_lines if invoice.installment.paid >= invoice.installment.amount]
    invoices_cancel(invoices=covered, reason="The installment was paid by other means.")
    # «Оплатить всё» is for the debt as it was: once other money arrives it would overpay, so it goes.
    remainder = [invoice for invoice in paid_lines if invoice.covers_remainder and invoice not in covered]
    if remainder:
        debt = sum((line.amount - line.paid for line in Installment.objects.filter(
            schedule__deal_id=event.payload["deal_id"], schedule__is_active=True)), ZERO)
        stale = [invoice for invoice in remainder if invoice.amount - invoice.paid_amount != debt]
        invoices_cancel(invoices=stale, reason="The remaining debt changed.")


def register() -> None:
    subscribe(SCHEDULE_CHANGED, on_schedule_changed)
    subscribe(PAYMENT_RECORDED, on_payment_recorded)
