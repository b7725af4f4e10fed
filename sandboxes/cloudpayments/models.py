"""The API's JSON models (Order, Transaction, Receipt) rendered from ledger records (contract §2)."""
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sandboxes.cloudpayments.cards import cardholder_message, payer_details
from sandboxes.cloudpayments.ledger import Order, Receipt, Transaction

# The real orders/create example gives CreatedDateIso in Moscow time, transactions in UTC (contract §1):
# the sandbox keeps that inconsistency so clients learn to prefer /Date(ms)/.
MOSCOW = timezone(timedelta(hours=3))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STATUS_CODES = {"AwaitingAuthentication": 1, "Authorized": 2, "Completed": 3, "Cancelled": 4, "Declined": 5}
CURRENCY_CODES = {"RUB": 0, "USD": 1, "EUR": 2, "GBP": 3}


def dates(name: str, moment: datetime | None, zone: timezone = UTC) -> dict[str, Any]:
    """`<name>Date` as "/Date(ms)/" and `<name>DateIso` without an offset, like the API."""
    if moment is None:
        return {f"{name}Date": None, f"{name}DateIso": None}
    millis = (moment - EPOCH) // timedelta(milliseconds=1)
    return {f"{name}Date": f"/Date({millis})/",
            f"{name}DateIso": moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")}


def order_model(order: Order) -> dict[str, Any]:
    return {
        "Id": order.id,
        "Number": order.number,
        "Amount": order.amount,
        "Currency": order.currency,
        "CurrencyCode": CURRENCY_CODES.get(order.currency),
        "Email": order.email,
        "Phone": order.phone,
        "Description": order.description,
        "RequireConfirmation": order.require_confirmation,
        "Url": order.url,
        "CultureName": order.culture_name,
        **dates("Created", order.created_at, MOSCOW),
        **dates("Payment", order.paid_at, MOSCOW),
        "StatusCode": 0 if order.status == "Created" else None,
        "Status": order.status,
        "InternalId": order.internal_id,
        "InvoiceId": order.invoice_id,
        "AccountId": order.account_id,
    }


def transaction_model(txn: Transaction, public_id: str) -> dict[str, Any]:
    return {
        "TransactionId": txn.id,
        "ReasonCode": txn.reason_code,
        "PublicId": public_id,
        "TerminalUrl": "http://127.0.0.1",
        "Amount": txn.amount,
        "Currency": txn.currency,
        "CurrencyCode": CURRENCY_CODES.get(txn.currency),
        "PaymentAmount": txn.amount,
        "PaymentCurrency": txn.currency,
        "PaymentCurrencyCode": CURRENCY_CODES.get(txn.currency),
        "InvoiceId": txn.invoice_id,
        "AccountId": txn.account_id,
        "Email": txn.email,
        "Description": txn.description,
        "JsonData": txn.json_data or None,
        **dates("Created", txn.created_at),
        **dates("Auth", txn.auth_date),
        **dates("Confirm", txn.confirm_date),
        **dates("Payout", None),
        "PayoutAmount": None,
        "AuthCode": txn.auth_code or None,
        "TestMode": True,
        "Rrn": txn.rrn or None,
        "OriginalTransactionId": txn.original_transaction_id,
        "FallBackScenarioDeclinedTransactionId": txn.fallback_declined_id,
        **payer_details(txn.card, txn.card_exp),
        "CardTypeCode": None,
        "CardProduct": None,
        "CardCategory": None,
        "Status": txn.status,
        "StatusCode": STATUS_CODES.get(txn.status),
        "CultureName": "ru-RU",
        "Reason": txn.reason,
        "CardHolderMessage": cardholder_message(txn.reason_code) or "Оплата успешно проведена",
        "Type": 0 if txn.operation == "Payment" else 2,
        "Refunded": txn.operation == "Payment" and txn.refunded > 0 and txn.remaining == 0,
        "Token": txn.token,
        "SubscriptionId": None,
        "GatewayName": "Test",
        "TotalFee": 0,
    }


def receipt_model(receipt: Receipt) -> dict[str, Any]:
    return {
        "Id": receipt.id,
        "Inn": receipt.inn,
        "Type": receipt.type,
        "InvoiceId": receipt.invoice_id,
        "AccountId": receipt.account_id,
        "Amount": receipt.amount,
        **dates("Created", receipt.created_at),
        "Status": "Processed",
        "Receipt": receipt.customer_receipt,
    }
