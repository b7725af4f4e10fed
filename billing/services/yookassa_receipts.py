"""54-FZ receipt data for YooKassa (contracts/yookassa.md §9): it travels inside the payment, the autopayment
or the refund itself, so CloudKassir (billing.services.receipts) never sends one for YooKassa money."""
import logging
from decimal import Decimal

from billing.domain.account_settings import fiscal_read
from billing.models import Deal
from billing.names import deal_service_name

logger = logging.getLogger(__name__)

# CloudKassir VAT (null: none, 0, 10, 20, 110, 120) → YooKassa vat_code (1 none, 2 0 %, 3 10 %, 4 20 %,
# 5 10/110, 6 20/120). CloudKassir taxation 0..5 → YooKassa tax_system_code 1..6 (the same order).
YOOKASSA_VAT_CODES = {None: 1, 0: 2, 10: 3, 20: 4, 110: 5, 120: 6}


def yookassa_receipt(*, deal: Deal, amount: Decimal, reference: str) -> dict | None:
    """One service line for `amount` when the account sends receipts; None without the client's email or
    phone (the receipt needs one) or for a VAT rate whose YooKassa code the contract does not give."""
    account = deal.account
    fiscal = fiscal_read(account.settings)
    if not fiscal.enabled or not (deal.contact_email or deal.contact_phone):
        return None
    if fiscal.vat not in YOOKASSA_VAT_CODES:
        # 5 %, 7 %, 22 % …: not in the contract; no receipt rather than a wrong one (an operator sees this).
        logger.error("%s: VAT %s has no known YooKassa vat_code, sent without a receipt", reference, fiscal.vat)
        return None
    customer = {"email": deal.contact_email} if deal.contact_email else {"phone": deal.contact_phone}
    item = {"description": (fiscal.item_label or deal_service_name(deal))[:128], "quantity": "1.00",
            "amount": {"value": format(amount, "f"), "currency": account.currency},
            "vat_code": YOOKASSA_VAT_CODES[fiscal.vat], "payment_mode": "full_payment", "payment_subject": "service"}
    return {"customer": customer, "items": [item], "tax_system_code": fiscal.taxation_system + 1}
