"""Plays the payer of an order: Check, then Pay or Fail, signed and delivered like CloudPayments does."""
import re
from decimal import Decimal
from typing import Any

from sandboxes.cloudpayments import fields
from sandboxes.cloudpayments.cards import (
    DEFAULT_CARD,
    DEFAULT_EXP,
    INSUFFICIENT_FUNDS,
    INSUFFICIENT_FUNDS_CARDS,
    check_decline_code,
    normalize_card,
)
from sandboxes.cloudpayments.faults import FaultSwitches
from sandboxes.cloudpayments.ledger import Ledger, Order, Transaction
from sandboxes.cloudpayments.notifier import Notifier
from sandboxes.cloudpayments.params import RequestError, parse_amount

OUTCOMES = ("success", "fail")


class Payer:
    """One payer for the whole sandbox; each pay() is one attempt on an order's page."""

    def __init__(self, ledger: Ledger, notifier: Notifier, faults: FaultSwitches) -> None:
        self._ledger = ledger
        self._notifier = notifier
        self._faults = faults

    def pay(self, order_id: str, *, outcome: str = "success", amount: Any = None, card: str | None = None,
            reason_code: int | None = None, exp: str | None = None) -> dict[str, Any]:
        """Runs the attempt synchronously and returns its transactions and every delivery with answers;
        `exp` (MM/YY) is the card's expiry, carried by its token."""
        if outcome not in OUTCOMES:
            raise RequestError(f"outcome must be one of {OUTCOMES}")
        card = normalize_card(card or DEFAULT_CARD)
        exp = exp or DEFAULT_EXP
        if not re.fullmatch(r"(0[1-9]|1[0-2])/[0-9]{2}", exp):
            raise RequestError("exp must be MM/YY")
        with self._ledger.lock:
            order = self._payable(order_id)
            paid = order.amount if amount in (None, "") else parse_amount(amount, "amount")
            txn = self._attempt(order, paid, card)
            txn.card_exp = exp
            account = self._ledger.accounts[order.public_id]
            planned = "Authorized" if order.require_confirmation else "Completed"
            check = fields.check_fields(txn, self._ledger.clock(), planned)
        deliveries = self._notifier.send(account, "Check", check)
        check_code = 0 if deliveries[0].get("skipped") else deliveries[0]["code"]
        if check_code != 0:
            decline_code = check_decline_code(check_code)
        elif outcome == "fail":
            decline_code = reason_code or INSUFFICIENT_FUNDS
        elif card in INSUFFICIENT_FUNDS_CARDS:
            decline_code = INSUFFICIENT_FUNDS
        else:
            decline_code = 0
        transactions = [txn.id]
        if decline_code:
            deliveries += self._fail(txn, decline_code)
        else:
            if self._faults.current.fail_then_pay:
                # A backup acquirer retries a declined attempt as a new transaction (contract §5.3).
                deliveries += self._fail(txn, INSUFFICIENT_FUNDS)
                txn = self._fallback(order, txn)
                transactions.append(txn.id)
            deliveries += self._approve(order, txn, planned)
        return {"order_id": order.id, "transaction_ids": transactions, "transaction_id": txn.id,
                "status": txn.status, "reason_code": txn.reason_code, "check_code": check_code,
                "deliveries": deliveries}

    def _payable(self, order_id: str) -> Order:
        order = self._ledger.orders.get(order_id)
        if order is None:
            raise LookupError(f"order {order_id} not found")
        if order.status == "Cancelled":
            raise RequestError("The order is cancelled")
        return order

    def _attempt(self, order: Order, amount: Decimal, card: str) -> Transaction:
        return self._ledger.add_transaction(
            public_id=order.public_id, operation="Payment", amount=amount, currency=order.currency,
            status="AwaitingAuthentication", invoice_id=order.invoice_id, account_id=order.account_id,
            email=order.email, description=order.description, json_data=order.json_data, card=card,
        )

    def _fallback(self, order: Order, declined: Transaction) -> Transaction:
        with self._ledger.lock:
            txn = self._attempt(order, declined.amount, declined.card or DEFAULT_CARD)
            txn.fallback_declined_id, txn.card_exp = declined.id, declined.card_exp
            return txn

    def _fail(self, txn: Transaction, reason_code: int) -> list[dict[str, Any]]:
        with self._ledger.lock:
            self._ledger.decline(txn, reason_code)
            body = fields.fail_fields(txn, self._ledger.clock())
            account = self._ledger.accounts[txn.public_id]
        return self._notifier.send(account, "Fail", body)

    def _approve(self, order: Order, txn: Transaction, status: str) -> list[dict[str, Any]]:
        with self._ledger.lock:
            self._ledger.approve(txn, status)
            txn.token = self._ledger.mint_token(txn.public_id, txn.card or DEFAULT_CARD, txn.card_exp)
            order.paid_at = txn.auth_date
            body = fields.pay_fields(txn, self._ledger.clock())
            account = self._ledger.accounts[txn.public_id]
        return self._notifier.send(account, "Pay", body)
