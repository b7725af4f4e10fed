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


def deal_status(*, has_plan: bool, cancelled: bool, debt: Decimal, overdue_amount: Decimal) -> DealStatus:
    if cancelled:
        return "cancelled"
    if not has_plan:
        return "no_plan"
    if debt <= ZERO:
        return "paid"
    if overdue_amount > ZERO:
        return "overdue"
    return "active"
