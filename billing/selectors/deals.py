"""The deal card's picture: plan, installments with paid amounts and statuses, payments, invoices.

`deal_figures_get` is the one reader of a deal's derived state (status, debt, overdue amount, monthly
payment, last and next due date); the card, the stored row, the CRM fields and the documents all take
their figures from it, and it takes them from `billing.domain.status.deal_figures`.
"""
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Prefetch, Sum
from django.utils import translation
from django.utils.translation import gettext

from billing.decline_reasons import OWN_REASONS, decline_reason_text
from billing.domain.interest import INTEREST_KINDS, effective_annual_rate
from billing.domain.money import ZERO
from billing.domain.schedule import Plan
from billing.domain.status import (
    DealFigures,
    InstallmentState,
    NextDue,
    PlanLine,
    days_late,
    deal_figures,
    installment_status,
)
from billing.errors import NotFound
from billing.models import Account, Deal, Installment, Invoice, Payment, RefundRequest, Schedule
from billing.selectors.autopay import autopay_state_get
from billing.time import account_today


@dataclass(frozen=True)
class Failure:
    """The last decline of an invoice's payment, in words a manager reads."""
    code: int | None
    reason_text: str
    attempts: int


@dataclass(frozen=True)
class InvoiceRef:
    id: int
    number: str
    status: str
    payment_url: str
    failure: Failure | None = None


@dataclass(frozen=True)
class InstallmentRow:
    seq: int
    kind: str
    label: str
    due_date: date
    amount: Decimal
    paid: Decimal
    status: str
    invoice: InvoiceRef | None = None
    days_overdue: int = 0  # days past the due date of an unpaid line (the card shows it)
    interest: Decimal = ZERO  # the part of `amount` that is interest (interest plans)


@dataclass(frozen=True)
class ScheduleState:
    external_id: int
    version: int | None
    currency: str
    direction: str
    total: Decimal
    already_paid: Decimal
    debt: Decimal
    installments_count: int
    monthly_payment: Decimal | None
    last_due_date: date | None
    installments: list[InstallmentRow]
    plan: str | None = None
    request: dict | None = None  # the plan request as the manager sent it, to pre-fill a re-build
    interest_total: Decimal = ZERO  # interest plans: the interest of all lines
    effective_rate: Decimal | None = None  # interest plans: percent a year (billing.domain.interest)


@dataclass(frozen=True)
class Correction:
    """A storno or refund as the history shows it: which entry, how much, why, who and when."""
    payment_id: int
    amount: Decimal
    reason: str
    by: int | None
    at: datetime


@dataclass(frozen=True)
class PaymentRow:
    id: int
    amount: Decimal
    method: str
    paid_at: date
    transaction_id: str | None
    comment: str
    recorded_by: int | None
    recorded_at: datetime
    kind: str = "payment"  # payment | storno | refund
    corrects: int | None = None  # the payment a storno or refund corrects
    reason: str = ""
    reversal: Correction | None = None
    refunds: list[Correction] = field(default_factory=list)
    can_reverse: bool = False
    refundable: Decimal | None = None  # online payments: what an admin may still refund


@dataclass(frozen=True)
class InvoiceRow:
    id: int
    number: str
    installment_seq: int
    amount: Decimal
    status: str
    payment_url: str
    pdf_url: str
    issued_at: datetime | None
    paid_at: datetime | None
    failure: Failure | None = None


@dataclass(frozen=True)
class DealState:
    external_id: int
    status: str
    currency: str
    total: Decimal
    paid: Decimal
    debt: Decimal
    overdue_amount: Decimal
    next_due: NextDue | None
    group: str
    education_direction: str
    direction: str
    name: str
    schedule: ScheduleState | None
    payments: list[PaymentRow] = field(default_factory=list)
    invoices: list[InvoiceRow] = field(default_factory=list)
    days_overdue: int = 0  # of the oldest overdue line
    autopay: Any = None  # billing.selectors.autopay.AutopayState
    payout_requisites: str = ""
    subscription: dict | None = None  # recurring plans: state, price, period, every, reason of the last change


def deal_find(*, account: Account, external_id: int) -> Deal:
    deal = Deal.objects.filter(account=account, external_id=external_id).select_related("account").first()
    if deal is None:
        raise NotFound("deal_not_found", gettext("Deal %(external_id)s is not known for this "
                                                 "account.") % {"external_id": external_id})
    return deal


def schedule_state_from_plan(*, plan: Plan, external_id: int, currency: str, direction: str) -> ScheduleState:
    """A preview: the same shape as a stored schedule, nothing paid, nothing invoiced."""
    lines = [
        InstallmentRow(seq=line.seq, kind=line.kind, label=line.label, due_date=line.due_date,
                          amount=line.amount, paid=ZERO, status="planned", interest=line.interest)
        for line in plan.installments
    ]
    return ScheduleState(
        external_id=external_id, version=None, currency=currency, direction=direction, total=plan.total,
        already_paid=plan.already_paid, debt=plan.debt, installments_count=len(lines),
        monthly_payment=plan.regular_amount, last_due_date=plan.last_due_date, installments=lines,
        interest_total=plan.interest_total, effective_rate=plan.effective_rate,
    )


def deal_figures_get(*, deal: Deal, today: date | None = None) -> DealFigures:
    """The deal's derived state on `today` (default: today in the account's time zone), from committed
    facts, or from the caller's transaction when it runs inside one."""
    schedule = Schedule.objects.filter(deal_id=deal.pk, is_active=True).only("total", "plan", "request").first()
    lines = [PlanLine(*row) for row in Installment.objects.filter(schedule=schedule)
             .values_list("seq", "kind", "due_date", "amount", "paid")] if schedule else []
    return _figures(deal, schedule, lines, today or account_today(deal.account))


def deal_figures_of(*, deal: Deal, schedule: Schedule | None, installments: list[Installment],
                    today: date | None = None) -> DealFigures:
    """`deal_figures_get` from the active schedule and its lines the caller's transaction already holds
    (locked, with their new `paid`): the money write does not read them back."""
    lines = [PlanLine(line.seq, line.kind, line.due_date, line.amount, line.paid)
             for line in sorted(installments, key=lambda line: line.seq)]
    return _figures(deal, schedule, lines, today or account_today(deal.account))


def _figures(deal: Deal, schedule: Schedule | None, lines: list[PlanLine], today: date) -> DealFigures:
    payments_total = Payment.objects.filter(deal_id=deal.pk).aggregate(total=Sum("amount"))["total"] or ZERO
    open_ended = (schedule is not None and schedule.plan == Schedule.Plan.RECURRING
                  and schedule.request.get("state") != "cancelled")
    return deal_figures(lines=lines, has_plan=schedule is not None, plan_total=schedule.total if schedule else ZERO,
                        payments_total=payments_total, cancelled=deal.cancelled_at is not None, today=today,
                        open_ended=open_ended)


def _subscription(schedule: Schedule | None) -> dict | None:
    if schedule is None or schedule.plan != Schedule.Plan.RECURRING:
        return None
    request = schedule.request
    return {"state": request.get("state") or "active", "price": request.get("installment_amount"),
            "period": request.get("period") or "month", "every": int(request.get("every") or 1),
            "reason": request.get("reason") or "", "change": request.get("change") or ""}


def deal_state_get(*, deal: Deal, today: date | None = None) -> DealState:
    account = deal.account
    today = today or account_today(account)
    schedule = (
        Schedule.objects.filter(deal=deal, is_active=True)
        .prefetch_related(Prefetch("installments", queryset=Installment.objects.order_by("seq")))
        .first()
    )
    # The same figures as deal_figures_get, from the lines this card loads anyway.
    figures = _figures(deal, schedule, [PlanLine(line.seq, line.kind, line.due_date, line.amount, line.paid)
                                        for line in schedule.installments.all()] if schedule else [], today)
    invoices = list(Invoice.objects.filter(deal=deal).select_related("installment").order_by("id"))
    live_by_installment = {
        invoice.installment_id: invoice for invoice in invoices if invoice.status in Invoice.LIVE_STATUSES
    }
    schedule_state = _schedule_state(deal, schedule, live_by_installment, figures, today) if schedule else None
    return DealState(
        external_id=deal.external_id, status=figures.status, currency=account.currency, total=figures.total,
        paid=figures.paid, debt=figures.debt, overdue_amount=figures.overdue_amount, next_due=figures.next_due,
        group=deal.group, education_direction=deal.education_direction, direction=deal.direction,
        name=deal.name, schedule=schedule_state, payout_requisites=deal.payout_requisites,
        subscription=_subscription(schedule),
        payments=_payment_rows(deal),
        invoices=[_invoice_row(invoice) for invoice in invoices],
        days_overdue=max((line.days_overdue for line in schedule_state.installments), default=0)
        if schedule_state else 0,
        autopay=autopay_state_get(deal=deal),
    )


def _schedule_state(deal: Deal, schedule: Schedule, live_invoices: dict[int, Invoice], figures: DealFigures,
                    today: date) -> ScheduleState:
    lines = []
    for line in schedule.installments.all():
        invoice = live_invoices.get(line.pk)
        state = InstallmentState(due_date=line.due_date, amount=line.amount, paid=line.paid,
                                 has_live_invoice=invoice is not None)
        status = installment_status(state, today)
        lines.append(InstallmentRow(
            seq=line.seq, kind=line.kind, label=line.label, due_date=line.due_date, amount=line.amount,
            paid=line.paid, status=status,
            invoice=InvoiceRef(invoice.pk, invoice.number, invoice.status, invoice.payment_url,
                               failure=invoice_failure(invoice)) if invoice else None,
            days_overdue=days_late(line.due_date, today) if status == "overdue" else 0,
            interest=line.interest,
        ))
    return ScheduleState(
        external_id=deal.external_id, version=schedule.version, currency=deal.account.currency,
        direction=schedule.direction, total=schedule.total, already_paid=schedule.already_paid,
        debt=schedule.debt, installments_count=len(lines), monthly_payment=figures.monthly_payment,
        last_due_date=figures.last_due_date, installments=lines,
        plan=schedule.plan, request=schedule.request or None,
        interest_total=sum((line.interest for line in lines), ZERO), effective_rate=_effective_rate(schedule, lines),
    )


def _effective_rate(schedule: Schedule, lines: list[InstallmentRow]) -> Decimal | None:
    """An interest plan's effective annual rate, from its stored lines and the start its request names."""
    start = (schedule.request or {}).get("start_date")
    if schedule.plan not in INTEREST_KINDS or not start:
        return None
    regular = [line for line in lines if line.kind == "regular"]
    return effective_annual_rate(start_date=date.fromisoformat(start),
                                 principal=sum((line.amount - line.interest for line in regular), ZERO),
                                 flows=[(line.due_date, line.amount) for line in regular])


def _correction(payment: Payment) -> Correction:
    return Correction(payment_id=payment.pk, amount=-payment.amount, reason=payment.correction_reason,
                      by=payment.recorded_by, at=payment.recorded_at)


def _payment_rows(deal: Deal) -> list[PaymentRow]:
    payments = list(deal.payments.order_by("paid_at", "id").prefetch_related("refund_requests", "refunds"))
    storno_of = {payment.reversal_of_id: payment for payment in payments if payment.reversal_of_id}
    refunds_of: dict[int, list[Payment]] = {}
    for payment in payments:
        if payment.refund_of_id:
            refunds_of.setdefault(payment.refund_of_id, []).append(payment)
    return [_payment_row(payment, storno_of.get(payment.pk), refunds_of.get(payment.pk, [])) for payment in payments]


def _payment_row(payment: Payment, storno: Payment | None, refunds: list[Payment]) -> PaymentRow:
    kind = "storno" if payment.reversal_of_id else "refund" if payment.refund_of_id else "payment"
    original = kind == "payment" and payment.amount > ZERO
    online = original and payment.method in Payment.REFUNDABLE_METHODS and bool(payment.transaction_id)
    return PaymentRow(id=payment.pk, amount=payment.amount, method=payment.method, paid_at=payment.paid_at,
                      transaction_id=payment.transaction_id, comment=payment.comment,
                      recorded_by=payment.recorded_by, recorded_at=payment.recorded_at, kind=kind,
                      corrects=payment.reversal_of_id or payment.refund_of_id, reason=payment.correction_reason,
                      reversal=_correction(storno) if storno else None,
                      refunds=[_correction(refund) for refund in refunds],
                      can_reverse=original and storno is None and payment.method in Payment.REVERSIBLE_METHODS,
                      refundable=payment_refundable(payment) if online else None)


def payment_refundable(payment: Payment) -> Decimal:
    """What may still be refunded: the payment less refunds recorded and refunds asked for, not settled."""
    refunded = sum((refund.amount for refund in payment.refunds.all()), ZERO)
    pending = sum((request.amount for request in payment.refund_requests.all()
                   if request.status == RefundRequest.Status.PENDING and request.refund_id is None), ZERO)
    return payment.amount + refunded - pending


def invoice_failure(invoice: Invoice) -> Failure | None:
    """The bank's last decline, while it still matters (the invoice is not paid)."""
    if invoice.status == Invoice.Status.PAID:
        return None
    declined = invoice.last_failure_code is not None or invoice.failed_attempts > 0
    if not declined and invoice.last_failure_reason not in OWN_REASONS:
        return None
    return Failure(code=invoice.last_failure_code, attempts=invoice.failed_attempts,
                   reason_text=decline_reason_text(invoice.last_failure_code, invoice.last_failure_reason))


def _invoice_row(invoice: Invoice) -> InvoiceRow:
    return InvoiceRow(id=invoice.pk, number=invoice.number, installment_seq=invoice.installment.seq,
                      amount=invoice.amount, status=invoice.status, payment_url=invoice.payment_url,
                      pdf_url=f"/api/v1/invoices/{invoice.pk}/pdf", issued_at=invoice.issued_at,
                      paid_at=invoice.paid_at, failure=invoice_failure(invoice))


def deal_state_etag(*, deal: Deal) -> str:
    """A fingerprint of everything the card shows, from a few narrow queries instead of the whole state:
    the deal row, the active plan, the payments (facts: only ever added), the invoices, the refund
    requests, today's date (lines turn overdue overnight) and the language the texts are in. Any change to
    them changes the tag."""
    facts = [
        account_today(deal.account).isoformat(), translation.get_language(), deal.account.currency,
        list(Deal.objects.filter(pk=deal.pk).values_list(
            "updated_at", "status", "name", "group", "education_direction", "direction", "cancelled_at")),
        list(Schedule.objects.filter(deal_id=deal.pk, is_active=True).values_list("id", "version")),
        Payment.objects.filter(deal_id=deal.pk).aggregate(count=Count("id"), last=Max("id")),
        list(Invoice.objects.filter(deal_id=deal.pk).order_by("id").values_list(
            "id", "status", "installment_id", "amount", "paid_amount", "payment_url", "issued_at", "paid_at",
            "failed_attempts", "last_failure_code", "last_failure_reason")),
        list(RefundRequest.objects.filter(payment__deal_id=deal.pk).order_by("id").values_list("id", "status")),
    ]
    digest = hashlib.sha256(repr(facts).encode()).hexdigest()[:32]
    return f'"{deal.pk}-{digest}"'
