"""Sandbox API methods for orders and payments; each one runs under the ledger lock (contract §6)."""
from collections.abc import Callable

from sandboxes.cloudpayments import fields
from sandboxes.cloudpayments.cards import (
    DECLINE_TOKEN_PREFIX,
    DEFAULT_EXP,
    EXPIRED_CARD,
    INSUFFICIENT_FUNDS,
    INSUFFICIENT_FUNDS_CARDS,
    THREE_DS,
    THREE_DS_TOKEN_PREFIX,
    TOKEN_DECLINE_CARDS,
    card_expired,
)
from sandboxes.cloudpayments.ledger import Account, Ledger, Order, Transaction, owned
from sandboxes.cloudpayments.models import order_model, transaction_model
from sandboxes.cloudpayments.params import Outcome, Params, RequestError, answer
from sandboxes.cloudpayments.receipts import receipt_create, receipt_get

Method = Callable[[Ledger, Account, Params], Outcome]
NOT_FOUND = "Not found"


def api_test(ledger: Ledger, account: Account, params: Params) -> Outcome:
    return Outcome(answer(message=f"sandbox-{ledger.next_serial():08d}"))


def order_create(ledger: Ledger, account: Account, params: Params) -> Outcome:
    amount = params.amount()
    description = params.required_text("Description")
    serial = ledger.next_serial()
    order_id = f"sbx{serial:013d}"
    order = Order(
        id=order_id, number=serial, internal_id=serial, public_id=account.public_id, amount=amount,
        currency=params.text("Currency") or "RUB", description=description,
        invoice_id=params.text("InvoiceId"), account_id=params.text("AccountId"),
        email=params.text("Email"), phone=params.text("Phone"),
        require_confirmation=params.flag("RequireConfirmation"),
        culture_name=params.text("CultureName") or "ru-RU",
        json_data=params.json_text("JsonData"),
        success_redirect_url=params.text("SuccessRedirectUrl"),
        fail_redirect_url=params.text("FailRedirectUrl"),
        created_at=ledger.clock(), url=f"{ledger.public_url}/d/{order_id}",
    )
    ledger.orders[order.id] = order
    return Outcome(answer(order_model(order)))


def order_cancel(ledger: Ledger, account: Account, params: Params) -> Outcome:
    order = owned(ledger.orders.get(params.required_text("Id")), account)
    if order is None:
        raise RequestError("Order not found")
    order.status = "Cancelled"
    return Outcome(answer())


def _transaction(ledger: Ledger, account: Account, params: Params) -> Transaction:
    transaction_id = params.integer("TransactionId")
    if transaction_id is None:
        raise RequestError("TransactionId is required")
    txn = owned(ledger.transactions.get(transaction_id), account)
    if txn is None:
        raise RequestError(NOT_FOUND)
    return txn


def payment_get(ledger: Ledger, account: Account, params: Params) -> Outcome:
    return Outcome(answer(transaction_model(_transaction(ledger, account, params), account.public_id)))


def _finder(with_refunds: bool) -> Method:
    def payment_find(ledger: Ledger, account: Account, params: Params) -> Outcome:
        invoice_id = params.required_text("InvoiceId")
        txn = ledger.latest_for_invoice(account.public_id, invoice_id, with_refunds=with_refunds)
        if txn is None:
            return Outcome(answer(success=False, message=NOT_FOUND))
        return Outcome(answer(transaction_model(txn, account.public_id)))
    return payment_find


def _token_decline(ledger: Ledger, account: Account, token: str) -> tuple[str | None, int | str]:
    """The card behind a token and what a charge of it gets: 0 approved, a ReasonCode, or "3ds". A script
    set through the control API goes first; then the token's prefix, the card's expiry and the test cards."""
    if token.startswith(DECLINE_TOKEN_PREFIX):
        code = token.removeprefix(DECLINE_TOKEN_PREFIX)
        if not code.isdigit() or int(code) == 0:
            raise RequestError("Token is invalid")
        return None, int(code)
    if token.startswith(THREE_DS_TOKEN_PREFIX):
        return None, THREE_DS
    issuer, card = ledger.tokens.get(token, (None, ""))
    if issuer != account.public_id:  # tokens work only on the terminal that issued them
        raise RequestError("Token not found")
    script = ledger.token_scripts.get(token)
    if script:
        return card, script.pop(0)
    if card_expired(ledger.token_exp.get(token, DEFAULT_EXP), ledger.clock().date()):
        return card, EXPIRED_CARD
    declines = TOKEN_DECLINE_CARDS | INSUFFICIENT_FUNDS_CARDS
    return card, INSUFFICIENT_FUNDS if card in declines else 0


def _three_ds_model(txn: Transaction, ledger: Ledger) -> dict:
    """What a payment method answers when the bank wants the cardholder (contract §1): no ReasonCode."""
    return {"TransactionId": txn.id, "PaReq": f"sbx-pareq-{txn.id}", "GoReq": None,
            "AcsUrl": f"{ledger.public_url}/acs/{txn.id}", "ThreeDsSessionData": None, "IFrameIsAllowed": True,
            "FrameWidth": None, "FrameHeight": None, "ThreeDsCallbackId": None, "EscrowAccumulationId": None}


def _token_payment(two_stage: bool) -> Method:
    def token_payment(ledger: Ledger, account: Account, params: Params) -> Outcome:
        amount = params.amount()
        account_id = params.required_text("AccountId")
        token = params.required_text("Token")
        initiator = params.integer("TrInitiatorCode")
        if initiator is None:
            raise RequestError("TrInitiatorCode is required")
        if initiator not in (0, 1):
            raise RequestError("TrInitiatorCode must be 0 or 1")
        card, outcome = _token_decline(ledger, account, token)
        txn = ledger.add_transaction(
            public_id=account.public_id, operation="Payment", amount=amount,
            currency=params.text("Currency") or "RUB", status="AwaitingAuthentication",
            invoice_id=params.text("InvoiceId"), account_id=account_id, email=params.text("Email"),
            description=params.text("Description"), card=card, token=token,
            card_exp=ledger.token_exp.get(token, DEFAULT_EXP), json_data=params.json_text("JsonData"),
        )
        now = ledger.clock()
        if outcome == THREE_DS:
            return Outcome(answer(_three_ds_model(txn, ledger), success=False))
        reason_code = int(outcome)
        if reason_code:
            ledger.decline(txn, reason_code)
            model = transaction_model(txn, account.public_id)
            return Outcome(answer(model, success=False), [(account, "Fail", fields.fail_fields(txn, now))])
        ledger.approve(txn, "Authorized" if two_stage else "Completed")
        model = transaction_model(txn, account.public_id)
        return Outcome(answer(model), [(account, "Pay", fields.pay_fields(txn, now))])
    return token_payment


def payment_confirm(ledger: Ledger, account: Account, params: Params) -> Outcome:
    txn = _transaction(ledger, account, params)
    amount = params.amount()
    if txn.status != "Authorized":
        raise RequestError("Transaction status is not Authorized")
    if amount > txn.amount:
        raise RequestError("Amount exceeds the authorized amount")
    txn.amount, txn.status, txn.confirm_date = amount, "Completed", ledger.clock()
    return Outcome(answer(), [(account, "Confirm", fields.confirm_fields(txn, ledger.clock()))])


def payment_void(ledger: Ledger, account: Account, params: Params) -> Outcome:
    txn = _transaction(ledger, account, params)
    if txn.status != "Authorized":
        raise RequestError("Only an Authorized payment can be voided")
    txn.status = "Cancelled"
    return Outcome(answer(), [(account, "Cancel", fields.cancel_fields(txn, ledger.clock()))])


def payment_refund(ledger: Ledger, account: Account, params: Params) -> Outcome:
    payment = _transaction(ledger, account, params)
    amount = params.amount()
    if payment.operation != "Payment" or payment.status != "Completed":
        raise RequestError("Only a Completed payment can be refunded")
    if amount > payment.remaining:
        raise RequestError(f"Amount exceeds the refundable {payment.remaining}")
    payment.refunded += amount
    refund = ledger.add_transaction(
        public_id=account.public_id, operation="Refund", amount=amount, currency=payment.currency,
        status="Completed", invoice_id=payment.invoice_id, account_id=payment.account_id,
        email=payment.email, description=payment.description, json_data=payment.json_data,
        card=payment.card, original_transaction_id=payment.id,
    )
    ledger.approve(refund, "Completed")
    return Outcome(answer({"TransactionId": refund.id}),
                   [(account, "Refund", fields.refund_fields(refund, ledger.clock()))])


METHODS: dict[str, Method] = {
    "test": api_test,
    "orders/create": order_create,
    "orders/cancel": order_cancel,
    "payments/get": payment_get,
    "payments/find": _finder(with_refunds=False),
    "v2/payments/find": _finder(with_refunds=True),
    "payments/tokens/charge": _token_payment(two_stage=False),
    "payments/tokens/auth": _token_payment(two_stage=True),
    "payments/confirm": payment_confirm,
    "payments/void": payment_void,
    "payments/refund": payment_refund,
    "kkt/receipt": receipt_create,
    "kkt/receipt/get": receipt_get,
}
