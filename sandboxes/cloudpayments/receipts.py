"""Sandbox kkt/receipt and kkt/receipt/get, validating receipts by the 54-FZ rules of contract §2."""
from decimal import Decimal
from typing import Any

from billing.domain.money import ZERO
from sandboxes.cloudpayments.ledger import Account, Ledger, Receipt, owned
from sandboxes.cloudpayments.models import receipt_model
from sandboxes.cloudpayments.params import Outcome, Params, RequestError, answer, parse_amount

RECEIPT_TYPES = frozenset({"Income", "IncomeReturn", "Expense", "ExpenseReturn"})
TAXATION_SYSTEMS = frozenset(range(6))
VAT_RATES = frozenset({None, 0, 10, 20, 110, 120, 5, 7, 22, 105, 107, 122})
LABEL_LIMIT = 128


def _inn(params: Params) -> str:
    inn = params.required_text("Inn")
    if not inn.isdigit() or len(inn) not in (10, 12):
        raise RequestError("Inn must be 10 or 12 digits")
    return inn


def _item_amount(item: dict[str, Any]) -> Decimal:
    """Validates one item, cuts a long label as the API does, returns its Amount."""
    label = item.get("Label")
    if not isinstance(label, str) or not label.strip():
        raise RequestError("Every item needs a Label")
    item["Label"] = label[:LABEL_LIMIT]
    parse_amount(item.get("Price"), "Price", minimum=ZERO)
    amount = parse_amount(item.get("Amount"), "Amount", minimum=ZERO)
    quantity = item.get("Quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int | Decimal) or quantity <= 0:
        raise RequestError("Quantity must be a positive number")
    if item.get("Vat") not in VAT_RATES:
        raise RequestError(f"Vat {item.get('Vat')} is not a known rate")
    return amount


def _validated(customer_receipt: Any) -> Decimal:
    """The receipt's total, or RequestError for the first rule it breaks."""
    if not isinstance(customer_receipt, dict):
        raise RequestError("CustomerReceipt is required")
    items = customer_receipt.get("Items")
    if not isinstance(items, list) or not items or not all(isinstance(item, dict) for item in items):
        raise RequestError("CustomerReceipt.Items must hold at least one item")
    taxation = customer_receipt.get("TaxationSystem")
    if taxation is not None and taxation not in TAXATION_SYSTEMS:
        raise RequestError(f"TaxationSystem {taxation} is not registered on the cash register")
    total = sum((_item_amount(item) for item in items), ZERO)
    if total <= 0:
        raise RequestError("The receipt total must be positive")
    return total


def receipt_create(ledger: Ledger, account: Account, params: Params) -> Outcome:
    inn = _inn(params)
    receipt_type = params.required_text("Type")
    if receipt_type not in RECEIPT_TYPES:
        raise RequestError(f"Type must be one of {', '.join(sorted(RECEIPT_TYPES))}")
    customer_receipt = params.raw("CustomerReceipt")
    total = _validated(customer_receipt)
    receipt = Receipt(
        id=f"sbx-receipt-{ledger.next_serial():08d}", public_id=account.public_id, inn=inn,
        type=receipt_type, customer_receipt=customer_receipt, invoice_id=params.text("InvoiceId"),
        account_id=params.text("AccountId"), amount=total, created_at=ledger.clock(),
    )
    ledger.receipts[receipt.id] = receipt
    return Outcome(answer({"Id": receipt.id, "ErrorCode": 0}, message="Queued"))


def receipt_get(ledger: Ledger, account: Account, params: Params) -> Outcome:
    receipt = owned(ledger.receipts.get(params.required_text("Id")), account)
    if receipt is None:
        raise RequestError("Not found")
    return Outcome(answer(receipt_model(receipt)))
