"""Deals as PayPlan knows them: created on first use, state recomputed from facts."""
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.domain.allocation import InstallmentDue, PaymentFact, allocate
from billing.domain.money import ZERO
from billing.errors import ApplicationError
from billing.events import DEAL_PAID, publish
from billing.models import Account, Allocation, Deal, Installment, Invoice, Payment, Schedule
from billing.selectors.deals import deal_figures_get, deal_figures_of
from billing.time import account_today

MAX_EXTERNAL_ID = 2**62


def deal_get_or_create(*, account: Account, external_id: int) -> Deal:
    """The account's deal for a CRM deal (by its id there), created on first sight; safe when two requests race.

    A deal's CRM id means something only inside its account (and CRM): whatever another account holds under the same
    id is never looked at, so no tenant can claim an id for itself or learn that another one uses it."""
    if not 0 < external_id < MAX_EXTERNAL_ID:
        raise ApplicationError("invalid_external_id", _("The CRM deal id must be a positive integer."),
                               {"external_id": [_("Must be a positive integer.")]}, status=404)
    try:
        with transaction.atomic():
            return Deal.objects.get_or_create(account=account, crm_kind=account.crm_kind, external_id=external_id)[0]
    except IntegrityError:
        return Deal.objects.get(account=account, crm_kind=account.crm_kind, external_id=external_id)


def deal_lock(*, deal: Deal) -> Deal:
    """Lock the deal row: every write to a deal's money takes this lock first."""
    # NO KEY UPDATE: writers of one deal exclude each other, yet rows referencing the deal can still be inserted.
    return Deal.objects.select_for_update(no_key=True, of=("self",)).select_related("account").get(pk=deal.pk)


def active_schedule(deal: Deal) -> Schedule | None:
    return deal.schedules.filter(is_active=True).first()


def deal_reallocate(*, deal: Deal, schedule: Schedule | None, new_payment: Payment | None = None
                    ) -> list[Installment]:
    """Allocate the deal's payments over its active schedule (caller holds the deal lock); returns the
    locked installments with their new `paid`.

    `schedule` is the deal's active schedule (None: no plan). Allocations are derived data, recomputed
    from the payments. A new positive payment that sorts last
    (the usual case) only fills what is still unpaid: exactly what the full recomputation would give,
    without rewriting every allocation of the deal.
    """
    if schedule is None:
        Allocation.objects.filter(payment__deal=deal).delete()
        return []
    installments = list(Installment.objects.select_for_update(no_key=True).filter(schedule=schedule).order_by("seq"))
    oldest_first = sorted(installments, key=lambda line: (line.due_date, line.seq))
    if new_payment is not None and _sorts_last(deal, new_payment):
        result = allocate([InstallmentDue(line.pk, line.amount - line.paid) for line in oldest_first],
                          [PaymentFact(new_payment.pk, new_payment.amount)])
        changed = _apply(result, installments, add=True)
    else:
        Allocation.objects.filter(payment__deal=deal).delete()
        # A reversed payment and its storno cancel out: as if the mistaken entry had never been allocated.
        payments = (deal.payments.exclude(method=Payment.Method.OPENING_BALANCE)
                    .filter(reversal_of__isnull=True, reversal__isnull=True).order_by("paid_at", "id"))
        result = allocate([InstallmentDue(line.pk, line.amount) for line in oldest_first],
                          [PaymentFact(payment.pk, payment.amount) for payment in payments])
        changed = _apply(result, installments, add=False)
    Allocation.objects.bulk_create(
        Allocation(payment_id=piece.payment_id, installment_id=piece.installment_id, amount=piece.amount)
        for piece in result.slices
    )
    if changed:
        Installment.objects.bulk_update(changed, ["paid"])
    return installments


def _sorts_last(deal: Deal, payment: Payment) -> bool:
    if payment.amount <= ZERO or payment.method == Payment.Method.OPENING_BALANCE:
        return False
    return not deal.payments.filter(paid_at__gt=payment.paid_at).exclude(
        method=Payment.Method.OPENING_BALANCE).exists()


def _apply(result, installments: list[Installment], *, add: bool) -> list[Installment]:
    paid = result.paid_by_installment()
    changed = []
    for line in installments:
        new_paid = line.paid + paid.get(line.pk, ZERO) if add else paid.get(line.pk, ZERO)
        if new_paid != line.paid:
            line.paid = new_paid
            changed.append(line)
    return changed


def deal_recompute(*, deal: Deal, today: date | None = None,
                   held: tuple[Schedule | None, list[Installment]] | None = None) -> Deal:
    """Store the deal's totals and status as the one selector derives them (caller holds the deal lock,
    after every money write, and the daily status tick); announce `deal_paid`. `held`: the active schedule
    and its lines as `deal_reallocate` just wrote them, so they are not read back."""
    previous_status = deal.status
    today = today or account_today(deal.account)
    if held is not None:
        figures = deal_figures_of(deal=deal, schedule=held[0], installments=held[1], today=today)
    else:
        figures = deal_figures_get(deal=deal, today=today)
    deal.total, deal.paid, deal.debt, deal.status = figures.total, figures.paid, figures.debt, figures.status
    deal.save(update_fields=["total", "paid", "debt", "status", "updated_at"])
    if deal.status == Deal.Status.PAID and previous_status != Deal.Status.PAID:
        publish(account=deal.account, name=DEAL_PAID,
                payload={"deal_id": deal.pk, "external_id": deal.external_id, "total": str(deal.total)})
    return deal


@transaction.atomic
def deal_update_crm_data(*, deal: Deal, name: str, contact_name: str, contact_phone: str, contact_email: str,
                         responsible_user_id: int | None, service_name: str | None = None) -> Deal:
    """What the CRM says about the lead and its main contact (names, phone, email, responsible user), and
    the service name from the lead field the account shows clients (None: no such field chosen; kept)."""
    deal = deal_lock(deal=deal)
    deal.name, deal.contact_name = name[:255], contact_name[:255]
    deal.contact_phone, deal.contact_email = contact_phone[:64], contact_email[:254]
    deal.responsible_user_id = responsible_user_id
    fields = ["name", "contact_name", "contact_phone", "contact_email", "responsible_user_id", "updated_at"]
    if service_name is not None:
        deal.service_name = service_name[:255]
        fields.append("service_name")
    deal.save(update_fields=fields)
    return deal


@transaction.atomic
def deal_cancel(*, deal: Deal, reason: str) -> Deal:
    """The lead is gone: the deal becomes `cancelled`, its payment links die; payments stay as facts."""
    # Imported here: invoicing builds on this module (deal_lock), so a top-level import would be circular.
    from billing.services.invoicing import invoices_cancel

    deal = deal_lock(deal=deal)
    if deal.cancelled_at is not None:
        return deal
    deal.cancelled_at = timezone.now()
    deal.save(update_fields=["cancelled_at", "updated_at"])
    invoices_cancel(invoices=list(deal.invoices.filter(status__in=Invoice.LIVE_STATUSES)), reason=reason)
    return deal_recompute(deal=deal)
