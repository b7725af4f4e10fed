"""HTTP for the gateway: pooled session, timeouts, Basic auth, X-Request-ID and bounded retries.

Retries are urllib3's `Retry`, mounted on the pooled session: connection errors, read timeouts, 5xx and 429
are repeated with the same bytes and headers (so the same X-Request-ID, which makes every CloudPayments
write idempotent, hence POST is allowed), with exponential backoff, honouring a capped Retry-After."""
import logging
import threading
from contextlib import nullcontext
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from billing.gateway import jsonwire
from billing.gateway.errors import (
    GatewayAuthError,
    GatewayError,
    GatewayRejected,
    GatewayThrottled,
    GatewayUnavailable,
)

logger = logging.getLogger(__name__)

# Errors after which the request may or may not have been processed: repeated by Retry with the same id;
# once the retries are spent they surface as one of these.
TRANSIENT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
RETRIED_STATUSES = frozenset({429, *range(500, 600)})
# A Retry-After beyond this is not waited for in-process: the caller gets GatewayThrottled/Unavailable.
RETRY_AFTER_MAX_SECONDS = 10.0


class GatewayRetry(Retry):
    """`backoff * 2**(n-1)` before the n-th retry (urllib3 makes the first one immediate), and a bounded
    Retry-After."""

    def get_backoff_time(self) -> float:
        failures = len(self.history)
        if failures == 0:
            return 0.0
        return min(self.backoff_max, self.backoff_factor * 2 ** (failures - 1))

    def get_retry_after(self, response) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, RETRY_AFTER_MAX_SECONDS)


def gateway_retry(retries: int, backoff: float) -> GatewayRetry:
    return GatewayRetry(
        total=retries, status_forcelist=RETRIED_STATUSES, allowed_methods=frozenset({"POST", "GET"}),
        backoff_factor=backoff, raise_on_status=False, respect_retry_after_header=True, redirect=False)


class JsonTransport:
    """POSTs JSON to `<base_url><path>` and returns the parsed answer, retrying only what may heal."""

    def __init__(self, base_url: str, username: str, password: str, *, connect_timeout: float,
                 read_timeout: float, retries: int, backoff: float,
                 session: requests.Session | None = None, max_in_flight: int | None = None) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._auth = (username, password)
        self._timeout = (connect_timeout, read_timeout)
        self._session = session or requests.Session()
        self._mount_retries(retries, backoff)
        # The gateway answers 429 above 5 (test) / 30 (live) requests in flight per site.
        self._slots = threading.BoundedSemaphore(max_in_flight) if max_in_flight else nullcontext()

    def _mount_retries(self, retries: int, backoff: float) -> None:
        """Once per pooled session: mounting a new adapter would drop its kept-alive connections."""
        config = (retries, backoff)
        mounted = self._session.adapters.get(self.base_url)
        if getattr(mounted, "payplan_retry_config", None) == config:
            return
        adapter = HTTPAdapter(max_retries=gateway_retry(retries, backoff))
        adapter.payplan_retry_config = config  # type: ignore[attr-defined]
        self._session.mount(self.base_url, adapter)

    def post(self, path: str, payload: dict[str, Any] | None, request_id: str | None = None) -> Any:
        headers = {"Accept": "application/json"}
        body = None
        if payload is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
            body = jsonwire.dumps(payload).encode("utf-8")
        if request_id is not None:
            headers["X-Request-ID"] = request_id
        try:
            with self._slots:
                response = self._session.post(self.base_url + path, data=body, headers=headers,
                                              auth=self._auth, timeout=self._timeout)
        except TRANSIENT_ERRORS as exc:
            logger.warning("gateway %s failed after retries (request id %s): %s", path, request_id,
                           type(exc).__name__)
            raise GatewayUnavailable(f"{path}: {type(exc).__name__}") from exc
        failure = self._failure(path, response)
        if failure is not None:
            logger.warning("gateway %s failed after retries (request id %s): %s", path, request_id, failure.message)
            raise failure
        return self._parse(path, response)

    @staticmethod
    def _failure(path: str, response: requests.Response) -> GatewayError | None:
        """None when the answer is worth parsing; a retryable error, or raises a final one."""
        status = response.status_code
        if status == 429:
            return GatewayThrottled(f"{path}: HTTP 429")
        if status >= 500:
            return GatewayUnavailable(f"{path}: HTTP {status}")
        if status == 401:
            raise GatewayAuthError(f"{path}: HTTP 401, Public ID or API secret refused")
        if status >= 400:
            raise GatewayRejected(f"{path}: HTTP {status}")
        return None

    @staticmethod
    def _parse(path: str, response: requests.Response) -> Any:
        try:
            return jsonwire.loads(response.content)
        except ValueError as exc:
            # A 2xx we cannot read may still have moved money.
            raise GatewayUnavailable(f"{path}: malformed answer") from exc
