"""HTTP for the gateway: pooled session, timeouts, Basic auth, X-Request-ID and bounded retries."""
import logging
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import requests

from billing.gateway import jsonwire
from billing.gateway.errors import (
    GatewayAuthError,
    GatewayError,
    GatewayRejected,
    GatewayThrottled,
    GatewayUnavailable,
)

logger = logging.getLogger(__name__)

# Errors after which the request may or may not have been processed: safe to repeat with the same id.
TRANSIENT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class JsonTransport:
    """POSTs JSON to `<base_url><path>` and returns the parsed answer, retrying only what may heal."""

    def __init__(self, base_url: str, username: str, password: str, *, connect_timeout: float,
                 read_timeout: float, retries: int, backoff: float,
                 session: requests.Session | None = None, max_in_flight: int | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._auth = (username, password)
        self._timeout = (connect_timeout, read_timeout)
        self._retries = retries
        self._backoff = backoff
        self._session = session or requests.Session()
        # The gateway answers 429 above 5 (test) / 30 (live) requests in flight per site.
        self._slots = threading.BoundedSemaphore(max_in_flight) if max_in_flight else nullcontext()
        self._sleep = sleep

    def post(self, path: str, payload: dict[str, Any] | None, request_id: str | None = None) -> Any:
        headers = {"Accept": "application/json"}
        body = None
        if payload is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
            body = jsonwire.dumps(payload).encode("utf-8")
        if request_id is not None:
            headers["X-Request-ID"] = request_id
        failure: GatewayError = GatewayUnavailable(f"{path}: no attempt made")
        for attempt in range(self._retries + 1):
            if attempt:
                self._sleep(self._backoff * 2 ** (attempt - 1))
            try:
                with self._slots:
                    response = self._session.post(self.base_url + path, data=body, headers=headers,
                                                  auth=self._auth, timeout=self._timeout)
            except TRANSIENT_ERRORS as exc:
                failure = GatewayUnavailable(f"{path}: {type(exc).__name__}")
            else:
                retryable = self._failure(path, response)
                if retryable is None:
                    return self._parse(path, response)
                failure = retryable
            logger.warning("gateway %s attempt %d failed (request id %s): %s",
                           path, attempt + 1, request_id, failure.message)
        raise failure

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
