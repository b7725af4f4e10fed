"""CloudPayments adapter: the `cloudpayments` client routed through our transport, plus corrected methods."""
from typing import Any

import requests
from cloudpayments import CloudPayments

from billing.domain.money import money
from billing.gateway.errors import GatewayRejected, GatewayUnavailable, PaymentDeclined
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
from billing.gateway.payloads import order_payload, receipt_payload, token_charge_payload
from billing.gateway.transport import JsonTransport

NOT_FOUND = "not found"


def classify(envelope: Any) -> dict[str, Any]:
    """Return an envelope worth reading (accepted or 3-DS) or raise, in the order of contract §1."""
    if not isinstance(envelope, dict) or "Success" not in envelope:
        raise GatewayUnavailable("answer is not a CloudPayments envelope")
    if envelope["Success"]:
        return envelope
    message = envelope.get("Message")
    model = envelope.get("Model") if isinstance(envelope.get("Model"), dict) else {}
    if message:
        raise GatewayRejected(str(message), raw=envelope)
    if model.get("AcsUrl"):
        return envelope
    reason_code = model.get("ReasonCode")
    if reason_code:
        reason = model.get("Reason")
        raise PaymentDeclined(f"declined {reason_code} {reason or ''}".strip(), reason_code=int(reason_code),
                              reason=reason, transaction_id=model.get("TransactionId"), raw=envelope)
    raise GatewayRejected("Success is false with neither a Message nor a ReasonCode", raw=envelope)


def _model(envelope: dict[str, Any]) -> dict[str, Any]:
    model = envelope.get("Model")
    if not isinstance(model, dict):
        raise GatewayUnavailable("answer has no Model", raw=envelope)
    return model


def _text(value: Any) -> str | None:
    # Some answers carry InvoiceId as a number, notifications send "" for absent (contract §5.7).
    return None if value in (None, "") else str(value)


class _PooledClient(CloudPayments):
    """The package's client with its request method replaced by our transport and answer classification."""

    def __init__(self, public_id: str, api_secret: str, transport: JsonTransport) -> None:
        super().__init__(public_id, api_secret)
        self.URL = transport.base_url
        self.transport = transport

    def _send_request(self, endpoint: str, params: dict[str, Any] | None = None,
                      request_id: str | None = None) -> dict[str, Any]:
        return classify(self.transport.post(endpoint, params, request_id))


class CloudPaymentsGateway:
    """The Gateway implementation for CloudPayments (or the loopback sandbox, by base_url)."""

    name = "cloudpayments"

    def __init__(self, public_id: str, api_secret: str, base_url: str = CloudPayments.URL,
                 connect_timeout: float = 10, read_timeout: float = 60, retries: int = 3,
                 backoff: float = 0.5, session: requests.Session | None = None,
                 max_in_flight: int | None = None) -> None:
        transport = JsonTransport(base_url, public_id, api_secret, connect_timeout=connect_timeout,
                                  read_timeout=read_timeout, retries=retries, backoff=backoff,
                                  session=session, max_in_flight=max_in_flight)
        self._client = _PooledClient(public_id, api_secret, transport)

    def _call(self, path: str, payload: dict[str, Any], request_id: str | None) -> dict[str, Any]:
        return self._client._send_request(path, payload, request_id)

    def ping(self) -> str:
        """The `test` method: checks credentials, returns the gateway's message."""
        return self._client.test()

    def create_order(self, order: CreateOrder, *, request_id: str) -> OrderCreated:
        if order.payment_method or order.save_payment_method:
            # orders/create has neither: SBP and saved methods are YooKassa's here (the account's setting).
            raise GatewayRejected("CloudPayments orders take no payment method of their own")
        model = _model(self._call("orders/create", order_payload(order), request_id))
        return OrderCreated(order_id=model["Id"], url=model["Url"], number=model.get("Number"),
                            status=model.get("Status"), raw=model)

    def cancel_order(self, order_id: str, *, request_id: str) -> None:
        self._call("orders/cancel", {"Id": order_id}, request_id)

    def find_payment(self, invoice_id: str) -> FoundPayment | None:
        """The latest transaction for the invoice (v2 also sees refunds); None when there is none."""
        try:
            envelope = self._call("v2/payments/find", {"InvoiceId": invoice_id}, None)
        except GatewayRejected as exc:
            if exc.message.strip().lower() == NOT_FOUND:
                return None
            raise
        except PaymentDeclined as exc:
            # Should the latest attempt, a declined one, come back as Success:false, it is still the answer.
            envelope = exc.raw or {}
        model = _model(envelope)
        return FoundPayment(transaction_id=model["TransactionId"], status=model.get("Status"),
                            amount=money(model["Amount"]), invoice_id=_text(model.get("InvoiceId")),
                            account_id=_text(model.get("AccountId")), raw=model)

    def charge_token(self, charge: ChargeToken, *, request_id: str) -> ChargeResult:
        """One-stage token charge; a decline raises PaymentDeclined, a 3-DS answer sets needs_3ds."""
        envelope = self._call("payments/tokens/charge", token_charge_payload(charge), request_id)
        model = _model(envelope)
        return ChargeResult(transaction_id=model["TransactionId"], status=model.get("Status"),
                            reason_code=model.get("ReasonCode") or 0, reason=model.get("Reason"),
                            success=bool(envelope["Success"]), token=model.get("Token"),
                            needs_3ds=bool(model.get("AcsUrl")), raw=model)

    def refund(self, refund: Refund, *, request_id: str) -> RefundResult:
        # The package gets this one right, request id included.
        refund_id = self._client.refund(int(refund.transaction_id), refund.amount, request_id=request_id)
        return RefundResult(transaction_id=refund_id)

    def create_receipt(self, receipt: FiscalReceipt, *, request_id: str) -> ReceiptQueued:
        model = _model(self._call("kkt/receipt", receipt_payload(receipt), request_id))
        return ReceiptQueued(receipt_id=str(model["Id"]), raw=model)
