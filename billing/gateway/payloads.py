"""Request bodies the `cloudpayments` package gets wrong or lacks, with PascalCase keys (contract §2)."""
from typing import Any

from billing.gateway.interface import ChargeToken, CreateOrder, FiscalReceipt

# Merchant-initiated, scheduled: what our autopay is (contract §5.12).
MERCHANT_INITIATED = 0


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def order_payload(order: CreateOrder) -> dict[str, Any]:
    """orders/create: CultureName (the package says CultureInfo), redirect URLs and JsonData."""
    return _present({
        "Amount": order.amount,
        "Currency": order.currency,
        "Description": order.description,
        "Email": order.email,
        "Phone": order.phone,
        "RequireConfirmation": order.require_confirmation,
        "SendEmail": order.send_email,
        "InvoiceId": order.invoice_id,
        "AccountId": order.account_id,
        "CultureName": order.culture_name,
        "SuccessRedirectUrl": order.success_redirect_url,
        "FailRedirectUrl": order.fail_redirect_url,
        "JsonData": order.json_data,
    })


def token_charge_payload(charge: ChargeToken) -> dict[str, Any]:
    """payments/tokens/charge with TrInitiatorCode, required since 2023-08 and missing in the package."""
    return _present({
        "Amount": charge.amount,
        "Currency": charge.currency,
        "AccountId": charge.account_id,
        "Token": charge.token,
        "TrInitiatorCode": MERCHANT_INITIATED,
        "PaymentScheduled": 1 if charge.scheduled else 0,
        "InvoiceId": charge.invoice_id,
        "Description": charge.description,
        "Email": charge.email,
    })


def receipt_payload(receipt: FiscalReceipt) -> dict[str, Any]:
    """kkt/receipt; built here so the whole answer, not only its Id, reaches the caller."""
    return _present({
        "Inn": receipt.inn,
        "Type": receipt.receipt_type,
        "CustomerReceipt": receipt.customer_receipt,
        "InvoiceId": receipt.invoice_id,
        "AccountId": receipt.account_id,
    })
