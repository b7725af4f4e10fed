"""Allocation: spread payments over installments, oldest due date first; refunds take back the newest."""
from dataclasses import dataclass
from decimal import Decimal

from billing.domain.money import ZERO


@dataclass(frozen=True)
class InstallmentDue:
    installment_id: int
    amount: Decimal


@dataclass(frozen=True)
class PaymentFact:
    payment_id: int
    amount: Decimal  # negative for a refund


@dataclass(frozen=True)
class AllocationSlice:
    payment_id: int
    installment_id: int
    amount: Decimal


@dataclass(frozen=True)
class AllocationResult:
    slices: tuple[AllocationSlice, ...]
    credit: Decimal  # money received beyond every installment

    def paid_by_installment(self) -> dict[int, Decimal]:
        paid: dict[int, Decimal] = {}
        for piece in self.slices:
            paid[piece.installment_id] = paid.get(piece.installment_id, ZERO) + piece.amount
        return paid


def allocate(installments: list[InstallmentDue], payments: list[PaymentFact]) -> AllocationResult:
    """Allocate `payments` (in the order given: oldest first) over `installments` (oldest due first).

    A positive payment fills the oldest unpaid installments and keeps any excess as credit.
    A refund first consumes credit, then takes money back from the most recently filled
    installments, so the oldest installments stay paid the longest.
    """
    remaining = {line.installment_id: line.amount for line in installments}
    order = [line.installment_id for line in installments]
    stack: list[list] = []  # [payment_id, installment_id, amount], in fill order
    credit = ZERO
    for payment in payments:
        if payment.amount >= ZERO:
            credit += _fill(payment, order, remaining, stack)
        else:
            credit = _take_back(-payment.amount, credit, remaining, stack)
    slices = _merge(stack)
    return AllocationResult(slices=slices, credit=credit)


def _fill(payment: PaymentFact, order: list[int], remaining: dict[int, Decimal], stack: list[list]) -> Decimal:
    left = payment.amount
    for installment_id in order:
        if left <= ZERO:
            break
        take = min(left, remaining[installment_id])
        if take > ZERO:
            remaining[installment_id] -= take
            stack.append([payment.payment_id, installment_id, take])
            left -= take
    return left


def _take_back(amount: Decimal, credit: Decimal, remaining: dict[int, Decimal], stack: list[list]) -> Decimal:
    from_credit = min(amount, credit)
    credit -= from_credit
    amount -= from_credit
    while amount > ZERO and stack:
        top = stack[-1]
        take = min(amount, top[2])
        top[2] -= take
        remaining[top[1]] += take
        amount -= take
        if top[2] == ZERO:
            stack.pop()
    # A refund larger than everything received leaves negative credit: the client is owed nothing
    # and the books show the excess refund rather than hiding it.
    return credit - amount


def _merge(stack: list[list]) -> tuple[AllocationSlice, ...]:
    merged: dict[tuple[int, int], Decimal] = {}
    for payment_id, installment_id, amount in stack:
        key = (payment_id, installment_id)
        merged[key] = merged.get(key, ZERO) + amount
    return tuple(
        AllocationSlice(payment_id=payment_id, installment_id=installment_id, amount=amount)
        for (payment_id, installment_id), amount in merged.items()
        if amount > ZERO
    )
