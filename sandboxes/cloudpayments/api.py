"""The sandbox API pipeline: journal, faults, Basic auth, X-Request-ID replay, then the method itself."""
import base64
import binascii
import hmac
import threading
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl

from billing.gateway import jsonwire
from sandboxes.cloudpayments.faults import FaultSwitches, seconds
from sandboxes.cloudpayments.idempotency import RequestCache
from sandboxes.cloudpayments.ledger import Account, Ledger
from sandboxes.cloudpayments.methods import METHODS
from sandboxes.cloudpayments.notifier import Notifier
from sandboxes.cloudpayments.params import Outcome, Params, RequestError, answer


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: bytes | None  # None: drop the connection without answering


def _envelope(status: int, message: str) -> ApiAnswer:
    return ApiAnswer(status, jsonwire.dumps(answer(success=False, message=message)).encode("utf-8"))


def _parse_body(headers: Message, raw: bytes) -> dict[str, Any]:
    """JSON or key=value form, both of which the API accepts (contract §1)."""
    if not raw.strip():
        return {}
    if "application/x-www-form-urlencoded" in headers.get("Content-Type", ""):
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    body = jsonwire.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


class ApiEndpoint:
    """Answers API calls and keeps a journal of each one: path, headers, body and the answer."""

    def __init__(self, ledger: Ledger, faults: FaultSwitches, cache: RequestCache, notifier: Notifier,
                 stopped: threading.Event) -> None:
        self.journal: list[dict[str, Any]] = []
        self._ledger = ledger
        self._faults = faults
        self._cache = cache
        self._notifier = notifier
        self._stopped = stopped
        self._lock = threading.Lock()

    def handle(self, path: str, headers: Message, raw: bytes) -> ApiAnswer:
        entry: dict[str, Any] = {
            "path": path, "at": self._ledger.clock().isoformat(), "public_id": None,
            "headers": {name: value for name, value in headers.items() if name.lower() != "authorization"},
            "raw": raw.decode("utf-8", errors="replace"), "body": None, "replayed": False,
        }
        with self._lock:
            self.journal.append(entry)
        with self._faults.in_flight() as over_limit:
            result = _envelope(429, "Too many requests") if over_limit else self._answer(path, headers, raw, entry)
        entry["status"] = result.status
        entry["answer"] = jsonwire.loads(result.body) if result.body else None
        return result

    def _answer(self, path: str, headers: Message, raw: bytes, entry: dict[str, Any]) -> ApiAnswer:
        fault = self._faults.take_api_fault()
        if fault is not None:
            entry["fault"] = fault[0]
            return ApiAnswer(0, None) if fault[0] == "drop" else _envelope(fault[1], "Sandbox fault")
        account = self._authenticate(headers)
        if account is None:
            return ApiAnswer(401, b"")
        entry["public_id"] = account.public_id
        method = METHODS.get(path)
        if method is None:
            return _envelope(404, f"No method {path}")
        try:
            body = _parse_body(headers, raw)
        except (ValueError, UnicodeDecodeError):
            return _envelope(400, "The body is neither JSON nor a form")
        entry["body"] = body
        result = self._run(method, account, body, headers.get("X-Request-ID"), entry)
        delay = self._faults.current.delay_seconds
        if delay:
            # Slow after the work is done: the caller times out on a request that did happen.
            self._stopped.wait(seconds(delay))
        return result

    def _run(self, method: Any, account: Account, body: dict[str, Any], request_id: str | None,
             entry: dict[str, Any]) -> ApiAnswer:
        with self._ledger.lock:
            now = self._ledger.clock()
            cached = self._cache.get(account.public_id, request_id, now) if request_id else None
            if cached is not None:
                entry["replayed"] = True
                return ApiAnswer(cached.status, cached.body)
            try:
                outcome = method(self._ledger, account, Params(body))
            except RequestError as exc:
                outcome = Outcome(answer(success=False, message=exc.message))
            payload = jsonwire.dumps(outcome.envelope).encode("utf-8")
            if request_id:
                self._cache.put(account.public_id, request_id, 200, payload, now)
        for target, kind, fields in outcome.notifications:
            self._notifier.send_later(target, kind, fields)
        return ApiAnswer(200, payload)

    def _authenticate(self, headers: Message) -> Account | None:
        scheme, _, encoded = headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            public_id, _, secret = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        account = self._ledger.accounts.get(public_id)
        if account is None or not hmac.compare_digest(secret.encode(), account.api_secret.encode()):
            return None
        return account
