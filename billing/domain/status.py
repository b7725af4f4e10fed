"""Derived states of deals and installments: never typed by hand, always computed from facts."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from billing.domain.money import ZERO

DealStatus = Literal["no_plan", "active", "overdue", "paid", "cancelled"]
InstallmentStatus = Literal["planned", "invoiced", "partially_paid", "paid", "overdue", "cancelled"]


@dataclass(frozen=True)
class InstallmentState:
    due_date: date
    amount: Decimal
    paid: Decimal
    has_live_invoice: bool = False
    cancelled: bool = False


def installment_status(state: InstallmentState, today: date) -> InstallmentStatus:
    if state.cancelled:
        return "cancelled"
    if state.paid >= state.amount:
        return "paid"
    if state.due_date < today:
        return "overdue"
    if state.paid > ZERO:
        return "partially_paid"
    return "invoiced" if state.has_live_invoice else "planned"


def deal_status(*, has_plan: bool, cancelled: bool, debt: Decimal, overdue_amount: Decimal,
                open_ended: bool = False) -> DealStatus:
    """`open_ended`: a recurring plan not cancelled is never paid off, only paid up to date (active)."""
    if cancelled:
        return "cancelled"
    if not has_plan:
        return "no_plan"
    if debt <= ZERO and not open_ended:
        return "paid"
    if overdue_amount > ZERO:
        return "overdue"
    return "active"


@dataclass(frozen=True)
class PlanLine:
    """One line of the deal's active plan, as the deal's figures need it."""
    seq: int
    kind: str
    due_date: date
    amount: Decimal
    paid: Decimal


@dataclass(frozen=True)
class NextDue:
    seq: int
    due_date: date
    amount: Decimal


@dataclass(frozen=True)
class DealFigures:
    """Everything derived about a deal on a given day; computed here and nowhere else."""
    status: DealStatus
    total: Decimal
    paid: Decimal
    debt: Decimal
    overdue_amount: Decimal
    monthly_payment: Decimal | None
    last_due_date: date | None
    next_due: NextDue | None


REGULAR_KIND = "regular"


def line_is_overdue(line: PlanLine, today: date) -> bool:
    return line.paid < line.amount and line.due_date < today


def days_late(due_date: date, today: date) -> int:
    return max((today - due_date).days, 0)


def monthly_payment(lines) -> Decimal | None:
    """The first regular line's amount (lines in seq order), as the card and the CRM field show it."""
    return next((line.amount for line in lines if line.kind == REGULAR_KIND), None)


def last_due_date(lines) -> date | None:
    return max((line.due_date for line in lines), default=None)


def deal_figures(*, lines: list[PlanLine], has_plan: bool, plan_total: Decimal, payments_total: Decimal,
                 cancelled: bool, today: date, open_ended: bool = False) -> DealFigures:
    """The deal's status and figures from its active plan's lines (any order) and the sum of its payments
    (credit and refunds included), on `today` in the account's time zone."""
    by_seq = sorted(lines, key=lambda line: line.seq)
    overdue = sum((line.amount - line.paid for line in by_seq if line_is_overdue(line, today)), ZERO)
    upcoming = next((line for line in by_seq if line.paid < line.amount and line.due_date >= today), None)
    debt = plan_total - payments_total
    return DealFigures(
        status=deal_status(has_plan=has_plan, cancelled=cancelled, debt=debt, overdue_amount=overdue,
                           open_ended=open_ended),
        total=plan_total, paid=payments_total, debt=debt, overdue_amount=overdue,
        monthly_payment=monthly_payment(by_seq), last_due_date=last_due_date(by_seq),
        next_due=NextDue(upcoming.seq, upcoming.due_date, upcoming.amount - upcoming.paid) if upcoming else None,
    )
