"""Typed gateway failures, so callers can tell "declined" from "outcome unknown"."""
from typing import Any


class GatewayError(Exception):
    """Base of every gateway failure; `.message` is safe to log (no card data, no secrets)."""

    def __init__(self, message: str, *, raw: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.raw = raw


class GatewayUnavailable(GatewayError):
    """Timeout, dropped connection, 5xx or a malformed answer: the outcome is unknown, reconcile later."""


class GatewayRejected(GatewayError):
    """The gateway refused the request itself (Success false with a Message, or a 4xx)."""


class GatewayAuthError(GatewayError):
    """Public ID / API secret refused (HTTP 401)."""


class GatewayThrottled(GatewayError):
    """Still HTTP 429 after every retry: too many requests in flight for this site."""


class PaymentDeclined(GatewayError):
    """The request was fine but the bank or the gateway declined the money (ReasonCode != 0)."""

    def __init__(self, message: str, *, reason_code: int, reason: str | None,
                 transaction_id: int | None, raw: dict[str, Any] | None = None) -> None:
        super().__init__(message, raw=raw)
        self.reason_code = reason_code
        self.reason = reason
        self.transaction_id = transaction_id
