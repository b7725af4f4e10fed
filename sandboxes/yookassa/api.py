"""The API v3 methods the product uses, as the contract describes them (§3–§7, §16)."""
import copy
from decimal import Decimal
from typing import Any

from sandboxes.yookassa.store import ApiError, Shop, Store, amount_parse, now_iso, object_id

PAYMENT_METHOD_TYPES = ("bank_card", "sbp", "sberbank", "yoo_money", "tinkoff_bank")
CARD = {"first6": "555555", "last4": "4477", "expiry_month": "12", "expiry_year": "2030", "card_type": "MasterCard"}


def _check_metadata(metadata: Any) -> dict:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or len(metadata) > 16:
        raise ApiError(400, "invalid_request", "metadata: at most 16 keys", "metadata")
    for key, value in metadata.items():
        if len(str(key)) > 32 or not isinstance(value, str) or len(value) > 512:
            raise ApiError(400, "invalid_request", "metadata: key ≤ 32, string value ≤ 512", "metadata")
    return dict(metadata)


def payment_create(store: Store, shop: Shop, body: dict, public_url: str) -> dict:
    amount = amount_parse(body.get("amount"))
    description = body.get("description") or ""
    if not isinstance(description, str) or len(description) > 128:
        raise ApiError(400, "invalid_request", "description: at most 128 characters", "description")
    metadata = _check_metadata(body.get("metadata"))
    method_id, method_data = body.get("payment_method_id"), body.get("payment_method_data")
    if method_id and method_data:
        raise ApiError(400, "invalid_request", "payment_method_id and payment_method_data are exclusive",
                       "payment_method_id")
    if method_data is not None and (not isinstance(method_data, dict)
                                    or method_data.get("type") not in PAYMENT_METHOD_TYPES):
        raise ApiError(400, "invalid_request", "Unknown payment_method_data.type", "payment_method_data.type")
    payment = {
        "id": object_id(), "status": "pending", "paid": False, "amount": amount,
        "income_amount": amount, "description": description,
        "recipient": {"account_id": shop.shop_id, "gateway_id": "1000001"},
        "created_at": now_iso(), "test": True, "refundable": False,
        "refunded_amount": {"value": "0.00", "currency": amount["currency"]}, "metadata": metadata,
        "capture": body.get("capture") is not False,
    }
    if body.get("receipt") is not None:
        _check_receipt(body["receipt"], amount)
        payment["receipt"] = body["receipt"]
        payment["receipt_registration"] = "pending"
    with store.lock:
        if method_id:
            return _autopayment(store, shop, payment, str(method_id))
        confirmation = body.get("confirmation")
        if not isinstance(confirmation, dict) or confirmation.get("type") not in ("redirect", "qr", "embedded"):
            raise ApiError(400, "invalid_request", "confirmation.type is required", "confirmation.type")
        kind = (method_data or {}).get("type")
        payment["payment_method"] = {"type": kind or "bank_card", "id": payment["id"], "saved": False}
        payment["save_payment_method"] = bool(body.get("save_payment_method"))
        page = f"{public_url}/checkout/{payment['id']}"
        if confirmation["type"] == "redirect":
            if not confirmation.get("return_url"):
                raise ApiError(400, "invalid_request", "confirmation.return_url is required",
                               "confirmation.return_url")
            payment["confirmation"] = {"type": "redirect", "return_url": confirmation["return_url"],
                                       "confirmation_url": page}
        elif confirmation["type"] == "qr":
            payment["confirmation"] = {"type": "qr", "confirmation_data": f"https://qr.nspk.ru/{payment['id']}"}
        else:
            payment["confirmation"] = {"type": "embedded", "confirmation_token": f"ct-{payment['id']}"}
        store.payments[payment["id"]] = payment
        return _public(payment)


def _check_receipt(receipt: Any, amount: dict) -> None:
    customer = receipt.get("customer") if isinstance(receipt, dict) else None
    if not isinstance(customer, dict) or not (customer.get("email") or customer.get("phone")):
        raise ApiError(400, "invalid_request", "receipt.customer needs an email or a phone", "receipt.customer")
    items = receipt.get("items")
    if not isinstance(items, list) or not items:
        raise ApiError(400, "invalid_request", "receipt.items is required", "receipt.items")
    total = sum((Decimal(item["amount"]["value"]) * Decimal(str(item.get("quantity", "1"))) for item in items),
                Decimal(0))
    if total != Decimal(amount["value"]):
        raise ApiError(400, "invalid_request", "receipt items do not add up to the amount", "receipt.items")


def _autopayment(store: Store, shop: Shop, payment: dict, method_id: str) -> dict:
    """A merchant-initiated charge with a saved method: final at once unless the switch says pending."""
    if store.saved_methods.get(method_id) != shop.shop_id:
        raise ApiError(400, "invalid_request", "Unknown payment_method_id", "payment_method_id")
    source = store.payments.get(method_id) or {}
    payment["payment_method"] = copy.deepcopy(source.get("payment_method") or {"type": "bank_card", "id": method_id})
    payment["payment_method"]["saved"] = True
    outcome = "permission_revoked" if method_id in store.revoked_methods else store.faults.charge_outcome
    store.payments[payment["id"]] = payment
    if outcome == "succeeded":
        _succeed(payment)
    elif outcome != "pending":
        _cancel(payment, outcome, party="payment_network")
    return _public(payment)


def _succeed(payment: dict) -> None:
    payment.update(status="succeeded", paid=True, captured_at=now_iso(), refundable=True)
    if payment.get("receipt_registration"):
        payment["receipt_registration"] = "succeeded"


def _cancel(payment: dict, reason: str, party: str = "yoo_money") -> None:
    payment.update(status="canceled", paid=False, cancellation_details={"party": party, "reason": reason})


def payer_pays(store: Store, payment_id: str) -> dict:
    """The payer confirms on the page: succeeded (or waiting_for_capture when capture=false)."""
    with store.lock:
        payment = _get(store, payment_id)
        if payment["status"] != "pending":
            raise ApiError(400, "invalid_request", f"The payment is {payment['status']}")
        method = payment["payment_method"]
        if method.get("type") == "bank_card":
            method.update(card=dict(CARD), title="Bank card *4477")
        elif method.get("type") == "sbp":
            method.update(title="SBP", sbp_operation_id=f"A{payment_id[:8].upper()}")
        if payment.pop("save_payment_method", False):
            method["saved"] = True
            store.saved_methods[method["id"]] = payment["recipient"]["account_id"]
        if payment.get("capture", True):
            _succeed(payment)
        else:
            payment.update(status="waiting_for_capture", paid=True)
        return _public(payment)


def payer_declines(store: Store, payment_id: str, reason: str) -> dict:
    with store.lock:
        payment = _get(store, payment_id)
        if payment["status"] != "pending":
            raise ApiError(400, "invalid_request", f"The payment is {payment['status']}")
        _cancel(payment, reason or "general_decline")
        return _public(payment)


def payment_get(store: Store, shop: Shop, payment_id: str) -> dict:
    with store.lock:
        payment = _get(store, payment_id)
        if payment["recipient"]["account_id"] != shop.shop_id:
            raise ApiError(404, "not_found", "Payment not found")
        return _public(payment)


def payment_cancel(store: Store, shop: Shop, payment_id: str) -> dict:
    with store.lock:
        payment = _get(store, payment_id, shop)
        if payment["status"] != "waiting_for_capture":
            raise ApiError(400, "invalid_request", f"Cannot cancel a payment that is {payment['status']}")
        _cancel(payment, "canceled_by_merchant", party="merchant")
        return _public(payment)


def payment_capture(store: Store, shop: Shop, payment_id: str) -> dict:
    with store.lock:
        payment = _get(store, payment_id, shop)
        if payment["status"] != "waiting_for_capture":
            raise ApiError(400, "invalid_request", f"Cannot capture a payment that is {payment['status']}")
        _succeed(payment)
        return _public(payment)


def refund_create(store: Store, shop: Shop, body: dict) -> dict:
    amount = amount_parse(body.get("amount"))
    payment_id = body.get("payment_id")
    if not isinstance(payment_id, str) or len(payment_id) != 36:
        raise ApiError(400, "invalid_request", "payment_id must be 36 characters", "payment_id")
    with store.lock:
        payment = _get(store, payment_id, shop)
        if payment["status"] != "succeeded" or not payment.get("refundable"):
            raise ApiError(400, "invalid_request", "The payment cannot be refunded", "payment_id")
        refunded = Decimal(payment["refunded_amount"]["value"])
        if refunded + Decimal(amount["value"]) > Decimal(payment["amount"]["value"]):
            raise ApiError(400, "invalid_request", "The refund exceeds what is left of the payment", "amount.value")
        refund = {"id": object_id(), "payment_id": payment_id, "status": "pending", "amount": amount,
                  "created_at": now_iso(), "description": str(body.get("description") or "")[:255]}
        outcome = store.faults.refund_outcome
        if outcome == "succeeded":
            refund["status"] = "succeeded"
            total = refunded + Decimal(amount["value"])
            payment["refunded_amount"] = {"value": format(total, "f"), "currency": amount["currency"]}
            payment["refundable"] = total < Decimal(payment["amount"]["value"])
        elif outcome != "pending":
            refund.update(status="canceled", cancellation_details={"party": "yoo_money", "reason": outcome})
        store.refunds[refund["id"]] = refund
        return copy.deepcopy(refund)


def refund_get(store: Store, shop: Shop, refund_id: str) -> dict:
    with store.lock:
        refund = store.refunds.get(refund_id)
        if refund is None or store.payments[refund["payment_id"]]["recipient"]["account_id"] != shop.shop_id:
            raise ApiError(404, "not_found", "Refund not found")
        return copy.deepcopy(refund)


def _get(store: Store, payment_id: str, shop: Shop | None = None) -> dict:
    payment = store.payments.get(payment_id)
    if payment is None or (shop is not None and payment["recipient"]["account_id"] != shop.shop_id):
        raise ApiError(404, "not_found", "Payment not found")
    return payment


def _public(payment: dict) -> dict:
    return {key: copy.deepcopy(value) for key, value in payment.items() if key not in ("capture",
                                                                                       "save_payment_method")}


# ---- Payouts (§14): a payout gateway's own credentials; SBP / card token / wallet; balance-driven --------------
SBP_BANKS = [{"bank_id": "100000000111", "name": "Сбербанк", "bic": "044525225"},
             {"bank_id": "100000000004", "name": "Т-Банк", "bic": "044525974"},
             {"bank_id": "100000000008", "name": "Альфа-Банк", "bic": "044525593"}]
SBP_PAYOUT_MAX = Decimal("500000.00")


def _payout_destination(body: dict) -> dict:
    given = [key for key in ("payout_destination_data", "payout_token", "payment_method_id") if body.get(key)]
    if len(given) != 1:
        raise ApiError(400, "invalid_request", "Exactly one of payout_destination_data, payout_token, "
                                               "payment_method_id is required", "payout_destination_data")
    if given[0] == "payout_token":
        return {"type": "bank_card", "card": {"first6": "555555", "last4": "4477", "card_type": "MasterCard"}}
    if given[0] == "payment_method_id":
        return {"type": "bank_card", "card": dict(CARD)}
    data = body["payout_destination_data"]
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "sbp":
        phone, bank_id = str(data.get("phone") or ""), str(data.get("bank_id") or "")
        if not (phone.isdigit() and 11 <= len(phone) <= 15):
            raise ApiError(400, "invalid_request", "phone is malformed", "payout_destination_data.phone")
        if len(bank_id) != 12 or not bank_id.isalnum():
            raise ApiError(400, "invalid_request", "bank_id is 12 alphanumerics", "payout_destination_data.bank_id")
        known = {bank["bank_id"] for bank in SBP_BANKS}
        return {"type": "sbp", "phone": phone, "bank_id": bank_id, "recipient_checked": bank_id in known}
    if kind == "yoo_money":
        number = str(data.get("account_number") or "")
        if not (number.isdigit() and 11 <= len(number) <= 33):
            raise ApiError(400, "invalid_request", "account_number is malformed",
                           "payout_destination_data.account_number")
        return {"type": "yoo_money", "account_number": number}
    if kind == "bank_card":
        number = str((data.get("card") or {}).get("number") or "")
        if not (number.isdigit() and 16 <= len(number) <= 19):
            raise ApiError(400, "invalid_request", "card.number is malformed", "payout_destination_data.card")
        return {"type": "bank_card", "card": {"first6": number[:6], "last4": number[-4:], "card_type": "Unknown"}}
    raise ApiError(400, "invalid_request", "Unknown payout_destination_data.type", "payout_destination_data.type")


def payout_create(store: Store, shop: Shop, body: dict) -> dict:
    if not shop.payouts:
        raise ApiError(403, "forbidden", "Payouts are not enabled for this shop: use the payout gateway's keys")
    amount = amount_parse(body.get("amount"))
    description = body.get("description") or ""
    if not isinstance(description, str) or len(description) > 128:
        raise ApiError(400, "invalid_request", "description: at most 128 characters", "description")
    metadata = _check_metadata(body.get("metadata"))
    destination = _payout_destination(body)
    value = Decimal(amount["value"])
    payout = {"id": "po-" + object_id(), "status": "pending", "amount": amount, "description": description,
              "payout_destination": destination, "gateway_id": shop.shop_id, "created_at": now_iso(),
              "metadata": metadata, "test": True}
    with store.lock:
        outcome = store.faults.payout_outcome
        if destination["type"] == "sbp" and (value > SBP_PAYOUT_MAX or value < 1):
            outcome = "one_time_limit_exceeded"
        elif destination["type"] == "sbp" and not destination.pop("recipient_checked"):
            outcome = "recipient_not_found"
        elif value > shop.balance:
            outcome = "insufficient_funds"
        if outcome == "succeeded":
            shop.balance -= value
            payout["status"] = "succeeded"
            payout["succeeded_at"] = now_iso()
        elif outcome != "pending":
            payout["status"] = "canceled"
            payout["cancellation_details"] = {"party": "payout_network", "reason": outcome}
        store.payouts[payout["id"]] = payout
    return copy.deepcopy(payout)


def payout_get(store: Store, shop: Shop, payout_id: str) -> dict:
    with store.lock:
        payout = store.payouts.get(payout_id)
        if payout is None or payout["gateway_id"] != shop.shop_id:
            raise ApiError(404, "not_found", "Payout not found")
        return copy.deepcopy(payout)


def payout_settle(store: Store, payout_id: str, outcome: str = "succeeded") -> dict:
    """A pending payout ends (the payout network answered): succeeded, or canceled with `outcome` as reason."""
    with store.lock:
        payout = store.payouts.get(payout_id)
        if payout is None:
            raise ApiError(404, "not_found", "Payout not found")
        if payout["status"] == "pending":
            if outcome == "succeeded":
                payout["status"], payout["succeeded_at"] = "succeeded", now_iso()
            else:
                payout["status"] = "canceled"
                payout["cancellation_details"] = {"party": "payout_network", "reason": outcome}
        return copy.deepcopy(payout)
