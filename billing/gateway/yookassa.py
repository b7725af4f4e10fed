"""YooKassa adapter: the REST API v3 (contracts/yookassa.md) behind the same Gateway port as CloudPayments,
spoken through the official SDK's client layer (`yookassa.client.ApiClient`, made per tenant in
billing.gateway.yookassa_client) the way the CloudPayments package is wrapped.

Not the SDK's global `Configuration` nor its model objects: `Configuration` is one (shop id, key) per
process, which two accounts' workers would overwrite under each other; the SDK sends no HTTP timeout;
it invents a random Idempotence-Key when none is given; and its `Amount` goes through float (§13). So: a
client per call with this account's shop id, key, endpoint and connect/read timeouts, a pooled session,
our own deterministic Idempotence-Key on every POST (so the bounded retries on connection errors, 202,
429 and 5xx repeat the very same operation), amounts as Decimal strings in and out, typed errors.
"""
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from billing.decline_reasons import yookassa_reason_code
from billing.domain.money import money
from billing.gateway.errors import (
    GatewayError,
    GatewayRejected,
    GatewayUnavailable,
    PaymentDeclined,
)
from billing.gateway.interface import (
    ChargeResult,
    ChargeToken,
    CreateOrder,
    FiscalReceipt,
    FoundPayment,
    OrderCreated,
    ReceiptQueued,
    Refund,
    RefundResult,
)
from billing.gateway.transport import GatewayRetry
from billing.gateway.yookassa_client import TenantApiClient

logger = logging.getLogger(__name__)

API_URL = "https://api.yookassa.ru/v3/"
NAME = "yookassa"
MAX_DESCRIPTION = 128  # payments and payouts (§3)
RETRIED_STATUSES = frozenset({202, 429, *range(500, 600)})
FINAL_STATUSES = ("succeeded", "canceled")


def amount_json(value: Decimal, currency: str) -> dict[str, str]:
    """`{"value": "100.00", "currency": "RUB"}`: a string with two decimals, never a float (§1)."""
    return {"value": format(money(value), "f"), "currency": currency}


def amount_read(raw: Any) -> Decimal:
    if not isinstance(raw, dict) or not isinstance(raw.get("value"), str | Decimal):
        raise GatewayUnavailable("YooKassa answer has no amount")
    return money(raw["value"])


@dataclass(frozen=True)
class YooKassaPayment:
    """A payment object as the API returns it, read into what billing needs."""
    id: str
    status: str
    paid: bool
    amount: Decimal
    currency: str
    shop_id: str | None
    metadata: dict[str, Any]
    method_id: str | None
    method_saved: bool
    method_type: str | None
    card_last_four: str | None
    card_exp: str | None
    cancellation_reason: str | None
    confirmation_url: str | None
    confirmation_data: str | None
    test: bool
    raw: dict[str, Any]


def payment_read(raw: Any) -> YooKassaPayment:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not isinstance(raw.get("status"), str):
        raise GatewayUnavailable("answer is not a YooKassa payment")
    method = raw.get("payment_method") if isinstance(raw.get("payment_method"), dict) else {}
    card = method.get("card") if isinstance(method.get("card"), dict) else {}
    confirmation = raw.get("confirmation") if isinstance(raw.get("confirmation"), dict) else {}
    cancellation = raw.get("cancellation_details") if isinstance(raw.get("cancellation_details"), dict) else {}
    recipient = raw.get("recipient") if isinstance(raw.get("recipient"), dict) else {}
    exp = (f"{card.get('expiry_month', '')}/{str(card.get('expiry_year', ''))[-2:]}"
           if card.get("expiry_month") else None)
    amount = raw.get("amount") or {}
    return YooKassaPayment(
        id=raw["id"], status=raw["status"], paid=bool(raw.get("paid")), amount=amount_read(amount),
        currency=str(amount.get("currency") or ""), shop_id=_text(recipient.get("account_id")),
        metadata=raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {},
        method_id=_text(method.get("id")), method_saved=bool(method.get("saved")),
        method_type=_text(method.get("type")),
        card_last_four=_text(card.get("last4")), card_exp=exp,
        cancellation_reason=_text(cancellation.get("reason")),
        confirmation_url=_text(confirmation.get("confirmation_url")),
        confirmation_data=_text(confirmation.get("confirmation_data")), test=bool(raw.get("test")), raw=raw)


@dataclass(frozen=True)
class YooKassaRefund:
    id: str
    status: str
    payment_id: str
    amount: Decimal
    cancellation_reason: str | None
    raw: dict[str, Any]


def refund_read(raw: Any) -> YooKassaRefund:
    if not isinstance(raw, dict) or not all(isinstance(raw.get(key), str) for key in ("id", "status", "payment_id")):
        raise GatewayUnavailable("answer is not a YooKassa refund")
    cancellation = raw.get("cancellation_details") if isinstance(raw.get("cancellation_details"), dict) else {}
    return YooKassaRefund(id=raw["id"], status=raw["status"], payment_id=raw["payment_id"],
                          amount=amount_read(raw.get("amount")), cancellation_reason=_text(cancellation.get("reason")),
                          raw=raw)


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


class YooKassaGateway:
    """The Gateway implementation for YooKassa (or its loopback sandbox, by base_url)."""

    name = NAME

    def __init__(self, shop_id: str, secret_key: str, base_url: str = API_URL, *, connect_timeout: float = 10,
                 read_timeout: float = 60, retries: int = 3, backoff: float = 0.5,
                 session: requests.Session | None = None, return_url: str = "") -> None:
        self.shop_id = shop_id
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._auth = (shop_id, secret_key)
        self._timeout = (connect_timeout, read_timeout)
        self._session = session or requests.Session()
        self._return_url = return_url
        config = (retries, backoff, "yookassa")
        mounted = self._session.adapters.get(self.base_url)
        if getattr(mounted, "payplan_retry_config", None) != config:
            retry = GatewayRetry(total=retries, status_forcelist=RETRIED_STATUSES,
                                 allowed_methods=frozenset({"POST", "GET"}), backoff_factor=backoff,
                                 raise_on_status=False, respect_retry_after_header=True, redirect=False)
            adapter = HTTPAdapter(max_retries=retry)
            adapter.payplan_retry_config = config  # type: ignore[attr-defined]
            self._session.mount(self.base_url, adapter)

    # ---- HTTP ------------------------------------------------------------------------------------------------
    def _client(self) -> TenantApiClient:
        return TenantApiClient(account_id=self.shop_id, secret_key=self._auth[1], endpoint=self.base_url,
                               timeout=self._timeout, session=self._session)

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None,
                 idempotence_key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotence-Key": idempotence_key or ""} if method == "POST" else None
        return self._client().request(method, path, headers=headers,
                                      body=(body or {}) if method == "POST" else None)

    # ---- the port ------------------------------------------------------------------------------------------
    def ping(self) -> str:
        return str(self._request("GET", "me").get("account_id") or "")

    def create_order(self, order: CreateOrder, *, request_id: str) -> OrderCreated:
        """A payment with a redirect confirmation (the payer chooses cards, SBP, SberPay… on YooKassa's page),
        or SBP only when `payment_method="sbp"` (redirect to the bank's QR page)."""
        body: dict[str, Any] = {
            "amount": amount_json(order.amount, order.currency), "capture": True,
            "confirmation": {"type": "redirect",
                             "return_url": order.success_redirect_url or self._return_url or "https://yookassa.ru/"},
            "description": order.description[:MAX_DESCRIPTION],
            "metadata": _metadata(order.invoice_id, order.account_id, order.json_data),
        }
        if order.payment_method:
            body["payment_method_data"] = {"type": order.payment_method}
        if order.save_payment_method:
            body["save_payment_method"] = True
        if order.receipt:
            body["receipt"] = order.receipt
        payment = payment_read(self._request("POST", "payments", body, request_id))
        if payment.status == "canceled":
            raise _declined(payment)
        if not payment.confirmation_url:
            raise GatewayUnavailable("YooKassa payment has no confirmation_url", raw=payment.raw)
        return OrderCreated(order_id=payment.id, url=payment.confirmation_url, number=None, status=payment.status,
                            raw=payment.raw)

    def cancel_order(self, order_id: str, *, request_id: str) -> None:
        """Only a held payment can be cancelled (§5); a pending link lapses by itself (expired_on_confirmation)
        and a finished one is history: nothing to do for either."""
        payment = self.get_payment(order_id)
        if payment.status == "waiting_for_capture":
            self._request("POST", f"payments/{order_id}/cancel", {}, request_id)

    def find_payment(self, invoice_id: str) -> FoundPayment | None:
        """YooKassa cannot be searched by our reference: the caller must not conclude "never arrived" and send
        a new request (the key is remembered 24 h only), so this fails closed for an operator."""
        raise GatewayUnavailable("YooKassa payments are found by their id, not by an invoice reference")

    def get_payment(self, payment_id: str) -> YooKassaPayment:
        if not payment_id or "/" in payment_id or len(payment_id) > 64:
            raise GatewayRejected("not a YooKassa payment id")
        return payment_read(self._request("GET", f"payments/{payment_id}"))

    def get_refund(self, refund_id: str) -> YooKassaRefund:
        if not refund_id or "/" in refund_id or len(refund_id) > 64:
            raise GatewayRejected("not a YooKassa refund id")
        return refund_read(self._request("GET", f"refunds/{refund_id}"))

    def charge_token(self, charge: ChargeToken, *, request_id: str) -> ChargeResult:
        """A merchant-initiated payment with a saved method: no confirmation (§7). `pending` is an unknown
        outcome (GatewayUnavailable): the same key later, or the notification, settles it."""
        body: dict[str, Any] = {
            "amount": amount_json(charge.amount, charge.currency), "capture": True,
            "payment_method_id": charge.token,
            "description": (charge.description or charge.invoice_id or "")[:MAX_DESCRIPTION],
            "metadata": _metadata(charge.invoice_id, charge.account_id, None),
        }
        if charge.receipt:
            body["receipt"] = charge.receipt
        payment = payment_read(self._request("POST", "payments", body, request_id))
        if payment.status == "canceled":
            raise _declined(payment)
        if payment.status != "succeeded":
            raise GatewayUnavailable(f"autopayment {payment.id} is {payment.status}", raw=payment.raw)
        return ChargeResult(transaction_id=payment.id, status=payment.status, reason_code=0, reason=None,
                            success=True, token=payment.method_id, needs_3ds=False, raw=payment.raw)

    def refund(self, refund: Refund, *, request_id: str) -> RefundResult:
        body: dict[str, Any] = {"payment_id": str(refund.transaction_id),
                                "amount": amount_json(refund.amount, refund.currency)}
        if refund.receipt:
            body["receipt"] = refund.receipt
        answer = refund_read(self._request("POST", "refunds", body, request_id))
        if answer.status == "canceled":
            code = yookassa_reason_code(answer.cancellation_reason)
            raise PaymentDeclined(f"refund canceled: {answer.cancellation_reason or 'general_decline'}",
                                  reason_code=code, reason=answer.cancellation_reason, transaction_id=None,
                                  raw=answer.raw)
        if answer.status != "succeeded":
            raise GatewayUnavailable(f"refund {answer.id} is {answer.status}", raw=answer.raw)
        return RefundResult(transaction_id=answer.id)

    def create_receipt(self, receipt: FiscalReceipt, *, request_id: str) -> ReceiptQueued:
        """54-FZ receipts travel inside the YooKassa payment itself (`receipt`, §9): no separate call."""
        raise GatewayRejected("YooKassa receipts are sent with the payment")


def _metadata(reference: str | None, external_id: str | None, extra: dict[str, Any] | None) -> dict[str, str]:
    """≤ 16 string keys (§3): what finds our invoice (or autopay attempt) again from a notification."""
    metadata = {"payplan_reference": str(reference or "")[:512], "payplan_lead": str(external_id or "")[:512]}
    payplan = (extra or {}).get("payplan") or {}
    if payplan.get("installment_seq") is not None:
        metadata["payplan_seq"] = str(payplan["installment_seq"])
    return metadata


def _declined(payment: YooKassaPayment) -> PaymentDeclined:
    code = yookassa_reason_code(payment.cancellation_reason)
    return PaymentDeclined(f"declined {payment.cancellation_reason or 'general_decline'}", reason_code=code,
                           reason=payment.cancellation_reason, transaction_id=payment.id, raw=payment.raw)


__all__ = ["API_URL", "NAME", "GatewayError", "YooKassaGateway", "YooKassaPayment", "YooKassaPayout",
           "YooKassaPayouts", "YooKassaRefund", "payment_read", "payout_read", "refund_read"]


# ---- Payouts (contracts/yookassa.md §14): the same REST API, the payout gateway's own agent id and key -------
@dataclass(frozen=True)
class YooKassaPayout:
    id: str
    status: str  # pending | succeeded | canceled
    amount: Decimal
    gateway_id: str | None
    metadata: dict[str, Any]
    cancellation_reason: str | None
    raw: dict[str, Any]


def payout_read(raw: Any) -> YooKassaPayout:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not isinstance(raw.get("status"), str):
        raise GatewayUnavailable("answer is not a YooKassa payout")
    cancellation = raw.get("cancellation_details") if isinstance(raw.get("cancellation_details"), dict) else {}
    return YooKassaPayout(id=raw["id"], status=raw["status"], amount=amount_read(raw.get("amount")),
                          gateway_id=_text(raw.get("gateway_id")),
                          metadata=raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {},
                          cancellation_reason=_text(cancellation.get("reason")), raw=raw)


class YooKassaPayouts(YooKassaGateway):
    """`POST /payouts` and `GET /payouts/{id}` with the payout gateway's credentials (not the shop's)."""

    def payout_create(self, *, amount: Decimal, destination: dict[str, Any], description: str,
                      metadata: dict[str, str], request_id: str, currency: str = "RUB") -> YooKassaPayout:
        body: dict[str, Any] = {"amount": amount_json(amount, currency), "description": description[:MAX_DESCRIPTION],
                                "metadata": metadata}
        if destination.get("payout_token"):
            body["payout_token"] = destination["payout_token"]
        else:
            body["payout_destination_data"] = destination
        return payout_read(self._request("POST", "payouts", body, request_id))

    def payout_get(self, payout_id: str) -> YooKassaPayout:
        if not payout_id or "/" in payout_id or len(payout_id) > 64:
            raise GatewayRejected("not a YooKassa payout id")
        return payout_read(self._request("GET", f"payouts/{payout_id}"))
