"""Deals as PayPlan knows them: created on first use, state recomputed from facts."""
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum

from billing.domain.allocation import InstallmentDue, PaymentFact, allocate
from billing.domain.money import ZERO
from billing.domain.status import deal_status
from billing.errors import ApplicationError, NotFound
from billing.events import DEAL_PAID, publish
from billing.models import Account, Allocation, Deal, Installment, Payment, Schedule
from billing.time import account_today

MAX_LEAD_ID = 2**62


def deal_get_or_create(*, account: Account, lead_id: int) -> Deal:
    """The deal of an amoCRM lead, created on first sight; safe when two requests race."""
    if not 0 < lead_id < MAX_LEAD_ID:
        raise ApplicationError("invalid_lead_id", "Lead id must be a positive integer.",
                               {"lead_id": ["Must be a positive integer."]}, status=404)
    if Deal.objects.filter(lead_id=lead_id).exclude(account=account).exists():
        # amoCRM lead ids are global: a lead another account owns is not this account's to see.
        raise NotFound("deal_not_found", f"Deal {lead_id} is not known for this account.")
    try:
        with transaction.atomic():
            return Deal.objects.get_or_create(account=account, lead_id=lead_id)[0]
    except IntegrityError:
        return Deal.objects.get(account=account, lead_id=lead_id)


def deal_lock(*, deal: Deal) -> Deal:
    """Lock the deal row: every write to a deal's money takes this lock first."""
    # NO KEY UPDATE: writers of one deal exclude each other, yet rows referencing the deal can still be inserted.
    return Deal.objects.select_for_update(no_key=True).get(pk=deal.pk)


def active_schedule(deal: Deal) -> Schedule | None:
    return deal.schedules.filter(is_active=True).first()


def payments_total(deal: Deal) -> Decimal:
    return deal.payments.aggregate(total=Sum("amount"))["total"] or ZERO


def deal_reallocate(*, deal: Deal) -> None:
    """Rebuild the allocations of the deal's payments over its active schedule (caller holds the lock).

    Allocations are derived data: the payments are the facts, so they are recomputed from scratch.
    """
    Allocation.objects.filter(payment__deal=deal).delete()
    schedule = active_schedule(deal)
    if schedule is None:
        return
    installments = list(Installment.objects.select_for_update(no_key=True).filter(schedule=schedule).order_by("seq"))
    payments = deal.payments.exclude(method=Payment.Method.OPENING_BALANCE).order_by("paid_at", "id")
    result = allocate(
        [InstallmentDue(line.pk, line.amount) for line in sorted(installments, key=lambda i: (i.due_date, i.seq))],
        [PaymentFact(payment.pk, payment.amount) for payment in payments],
    )
    Allocation.objects.bulk_create(
        Allocation(payment_id=piece.payment_id, installment_id=piece.installment_id, amount=piece.amount)
        for piece in result.slices
    )
    paid = result.paid_by_installment()
    for line in installments:
        line.paid = paid.get(line.pk, ZERO)
    Installment.objects.bulk_update(installments, ["paid"])


def deal_recompute(*, deal: Deal) -> Deal:
    """Refresh the deal's cached totals and derived status (caller holds the lock); announce `deal_paid`."""
    schedule = active_schedule(deal)
    previous_status = deal.status
    today = account_today(deal.account)
    total = schedule.total if schedule else ZERO
    paid = payments_total(deal)
    overdue = ZERO
    if schedule is not None:
        for line in schedule.installments.filter(due_date__lt=today):
            overdue += max(line.amount - line.paid, ZERO)
    deal.total, deal.paid, deal.debt = total, paid, total - paid
    deal.status = deal_status(has_plan=schedule is not None, cancelled=deal.cancelled_at is not None,
                              debt=deal.debt, overdue_amount=overdue)
    deal.save(update_fields=["total", "paid", "debt", "status", "updated_at"])
    if deal.status == Deal.Status.PAID and previous_status != Deal.Status.PAID:
        publish(account=deal.account, name=DEAL_PAID,
                payload={"deal_id": deal.pk, "lead_id": deal.lead_id, "total": str(deal.total)})
    return deal
