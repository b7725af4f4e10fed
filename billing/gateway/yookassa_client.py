"""The `yookassa` SDK's client layer, made per tenant and safe (contracts/yookassa.md §13).

`yookassa.client.ApiClient` is built on the process-global `Configuration` (one shop id and key per
process: two accounts' workers in one process would overwrite each other's), sends no HTTP timeout, lets
`requests` retry POSTs whatever the key, and ends a network failure in `AttributeError`. `TenantApiClient`
keeps the SDK's request shape (Basic auth of the shop or payout gateway, `YM-User-Agent`, JSON headers,
the endpoint + path call) and replaces exactly those traps: the credentials, endpoint and timeouts are
the instance's own (never read from `Configuration`, which is never written), the pooled session carries
our bounded retry policy, and every failure is one of our typed errors."""
import logging
from functools import cache
from typing import Any

import requests
from yookassa.client import ApiClient
from yookassa.domain.common import UserAgent

from billing.gateway import jsonwire
from billing.gateway.errors import (
    GatewayAuthError,
    GatewayRejected,
    GatewayThrottled,
    GatewayUnavailable,
)
from billing.gateway.transport import TRANSIENT_ERRORS

logger = logging.getLogger(__name__)

MAX_KEY_LENGTH = 64  # Idempotence-Key (§2)


@cache
def _user_agent() -> UserAgent:
    return UserAgent()  # reads the OS release once per process, not once per call


def idempotence_key(request_id: str) -> str:
    if not request_id or len(request_id) > MAX_KEY_LENGTH:
        raise ValueError(f"Idempotence-Key must be 1..{MAX_KEY_LENGTH} characters: {request_id!r}")
    return request_id


class TenantApiClient(ApiClient):
    """One shop (or payout gateway) for one call: explicit credentials, endpoint, timeouts and session."""

    def __init__(self, *, account_id: str, secret_key: str, endpoint: str, timeout: tuple[float, float],
                 session: requests.Session) -> None:
        # Deliberately not ApiClient.__init__: it copies the global Configuration.
        self.configuration = None
        self.endpoint = endpoint if endpoint.endswith("/") else endpoint + "/"
        self.shop_id = account_id
        self.shop_password = secret_key
        self.auth_token = None
        self.http_timeout = timeout
        self.user_agent = _user_agent()
        self._session = session

    def get_session(self) -> requests.Session:
        return self._session  # pooled, with the retry policy the gateway mounted on it

    def execute(self, body, method, path, query_params, request_headers) -> requests.Response:
        data = None if body is None else jsonwire.dumps(body).encode("utf-8")  # Decimal strings, never float
        return self.get_session().request(method, self.endpoint + path, params=query_params, data=data,
                                          headers=request_headers, timeout=self.http_timeout)

    def request(self, method="", path="", query_params=None, headers=None, body=None) -> dict[str, Any]:
        request_headers = self.prepare_request_headers(headers)
        request_headers["Accept"] = "application/json"
        if method in ("POST", "DELETE"):
            # Always our key, never the SDK's random one: a retry is the same operation (§2).
            request_headers["Idempotence-Key"] = idempotence_key((headers or {}).get("Idempotence-Key") or "")
        try:
            response = self.execute(body, method, path, query_params, request_headers)
        except TRANSIENT_ERRORS as exc:
            logger.warning("YooKassa %s %s failed after retries (key %s): %s", method, path,
                           request_headers.get("Idempotence-Key"), type(exc).__name__)
            raise GatewayUnavailable(f"{path}: {type(exc).__name__}") from exc
        return answer_read(path, response)


def answer_read(path: str, response: requests.Response) -> dict[str, Any]:
    """The SDK's HTTP-code table (§11) as our typed errors; a 200 we cannot read may have moved money."""
    status = response.status_code
    try:
        parsed = jsonwire.loads(response.content) if response.content else {}
    except ValueError:
        parsed = None
    error = parsed if isinstance(parsed, dict) and parsed.get("type") == "error" else {}
    detail = " ".join(str(part) for part in (error.get("code"), error.get("description"),
                                             error.get("parameter")) if part)
    message = f"{path}: HTTP {status}" + (f" {detail}" if detail else "")
    if status == 200:
        if not isinstance(parsed, dict):
            raise GatewayUnavailable(f"{path}: malformed answer")
        return parsed
    if status == 429:
        raise GatewayThrottled(message, raw=error or None)
    if status == 202 or status >= 500:
        raise GatewayUnavailable(message, raw=error or None)  # outcome unknown: same key again, or GET (§2)
    if status == 401:
        raise GatewayAuthError(f"{path}: HTTP 401, shop id or secret key refused", raw=error or None)
    raise GatewayRejected(message, raw=error or None)
