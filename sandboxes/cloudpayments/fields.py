"""Notification bodies with the §3 field names and formats: strings only, "" for every absent value."""
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sandboxes.cloudpayments.cards import payer_details
from sandboxes.cloudpayments.ledger import Transaction


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def notification_time(moment: datetime) -> str:
    """`yyyy-MM-dd HH:mm:ss` in UTC, without an offset, as CloudPayments sends it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _strings(fields: dict[str, Any]) -> dict[str, str]:
    return {key: _text(value) for key, value in fields.items()}


def common_fields(txn: Transaction, moment: datetime) -> dict[str, Any]:
    return {
        "TransactionId": txn.id,
        "Amount": txn.amount,
        "Currency": txn.currency,
        "PaymentAmount": txn.amount,
        "PaymentCurrency": txn.currency,
        "DateTime": notification_time(moment),
        "CardId": f"card_sbx_{txn.card[-4:]}" if txn.card else None,
        **payer_details(txn.card, txn.card_exp),
        "TestMode": 1,
        "InvoiceId": txn.invoice_id,
        "AccountId": txn.account_id,
        "SubscriptionId": None,
        "Email": txn.email,
        "Description": txn.description,
        "PaymentMethod": None,
        "Data": txn.json_data,
    }


def check_fields(txn: Transaction, moment: datetime, status: str) -> dict[str, str]:
    """Check announces the status the payment will get: Completed, or Authorized for two-stage."""
    return _strings({**common_fields(txn, moment), "Status": status, "OperationType": "Payment",
                     "TokenRecipient": None, "CardProduct": None})


def pay_fields(txn: Transaction, moment: datetime) -> dict[str, str]:
    return _strings({
        **common_fields(txn, moment),
        "Status": txn.status,
        "OperationType": "Payment",
        "GatewayName": "Test",
        "AuthCode": txn.auth_code,
        "Token": txn.token,
        "TotalFee": "0.00",
        "CardProduct": None,
        "FallBackScenarioDeclinedTransactionId": txn.fallback_declined_id,
        "Rrn": txn.rrn,
        "CustomFields": None,
        "VatAboveTotalFee": None,
        "ProcessorAndPartnerFee": None,
        "VatWithinProcessorFee": None,
    })


def fail_fields(txn: Transaction, moment: datetime) -> dict[str, str]:
    return _strings({
        **common_fields(txn, moment),
        "Reason": txn.reason,
        "ReasonCode": txn.reason_code,
        "OperationType": "Payment",
        "Token": txn.token,
        "FallBackScenarioDeclinedTransactionId": txn.fallback_declined_id,
        "Rrn": txn.rrn,
        "CustomFields": None,
        "RetryAfter": None,
        "ProviderMessage": None,
    })


def confirm_fields(txn: Transaction, moment: datetime) -> dict[str, str]:
    return _strings({**common_fields(txn, moment), "Status": "Completed", "AuthCode": txn.auth_code,
                     "Token": txn.token, "Rrn": txn.rrn})


def refund_fields(refund: Transaction, moment: datetime) -> dict[str, str]:
    """Refund's TransactionId is the refund's own; the payment is PaymentTransactionId (contract §5.2)."""
    return _strings({
        "TransactionId": refund.id,
        "PaymentTransactionId": refund.original_transaction_id,
        "Amount": refund.amount,
        "DateTime": notification_time(moment),
        "OperationType": "Refund",
        "InvoiceId": refund.invoice_id,
        "AccountId": refund.account_id,
        "Email": refund.email,
        "Data": refund.json_data,
        "Rrn": refund.rrn,
        "CustomFields": None,
    })


def cancel_fields(txn: Transaction, moment: datetime) -> dict[str, str]:
    return _strings({
        "TransactionId": txn.id,
        "Amount": txn.amount,
        "DateTime": notification_time(moment),
        "InvoiceId": txn.invoice_id,
        "AccountId": txn.account_id,
        "Email": txn.email,
        "Data": txn.json_data,
        "Rrn": txn.rrn,
    })
