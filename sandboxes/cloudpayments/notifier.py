"""Signed notifications to the merchant, retried like CloudPayments does but on a compressed clock."""
import logging
import threading
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import requests

from billing.gateway import jsonwire
from billing.gateway.signature import decoded_message, sign
from sandboxes.cloudpayments.faults import FaultSwitches, seconds
from sandboxes.cloudpayments.ledger import Account

logger = logging.getLogger(__name__)

# Minutes between delivery attempts in production (contract §3.2); 30 repeats after the last.
RETRY_MINUTES = (1, 2, 5, 10, 30)
KINDS = ("Check", "Pay", "Fail", "Confirm", "Refund", "Recurrent", "Cancel", "Receipt")


def canonical_kind(kind: str) -> str:
    for known in KINDS:
        if known.lower() == kind.lower():
            return known
    raise ValueError(f"unknown notification kind {kind!r}")


class Notifier:
    """Builds, signs and delivers notifications; every delivery and answer lands in `deliveries`."""

    def __init__(self, url_template: str | None, faults: FaultSwitches, *, timeout: float = 30,
                 time_factor: Decimal = Decimal("0.05"), max_attempts: int = 5) -> None:
        self.url_template = url_template
        self.timeout = timeout
        self.time_factor = time_factor  # sandbox seconds per minute of the real retry schedule
        self.max_attempts = max_attempts
        self.deliveries: list[dict[str, Any]] = []
        self._faults = faults
        self._session = requests.Session()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []

    def send(self, account: Account, kind: str, fields: dict[str, str]) -> list[dict[str, Any]]:
        """Deliver now (with retries, except Check); twice when the duplicate fault is on."""
        kind = canonical_kind(kind)
        copies = 2 if self._faults.current.duplicate_notifications and kind != "Check" else 1
        return [self._deliver(account, kind, fields) for _ in range(copies)]

    def send_later(self, account: Account, kind: str, fields: dict[str, str]) -> None:
        """Deliver from a thread, as the real gateway notifies after it has answered the API call."""
        thread = threading.Thread(target=self.send, args=(account, kind, fields), daemon=True)
        with self._lock:
            thread.start()
            self._threads.append(thread)

    @property
    def busy(self) -> bool:
        """True while a background delivery is still trying."""
        with self._lock:
            self._threads = [thread for thread in self._threads if thread.is_alive()]
            return bool(self._threads)

    def close(self, timeout: float = 5) -> None:
        self._stopped.set()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
        self._session.close()

    def _delay(self, attempt: int) -> float:
        minutes = RETRY_MINUTES[min(attempt, len(RETRY_MINUTES)) - 1]
        return seconds(minutes * self.time_factor)

    def _deliver(self, account: Account, kind: str, fields: dict[str, str]) -> dict[str, Any]:
        body = urlencode(fields).encode("utf-8")
        secret = account.api_secret
        if self._faults.current.corrupt_signature:
            secret += "-corrupted"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "Content-HMAC": sign(secret, body),
            "X-Content-HMAC": sign(secret, decoded_message(body) or b""),
        }
        url = self.url_template.format(account_key=account.account_key, kind=kind.lower()) \
            if self.url_template else None
        record: dict[str, Any] = {"kind": kind, "account_key": account.account_key, "url": url,
                                  "body": body.decode("ascii"), "fields": dict(fields), "headers": headers,
                                  "attempts": [], "accepted": False, "code": None}
        with self._lock:
            self.deliveries.append(record)
        if url is None:
            record["skipped"] = "no notification URL configured"
            return record
        attempts = 1 if kind == "Check" else self.max_attempts  # Check is never retried
        for attempt in range(attempts):
            if attempt and self._stopped.wait(self._delay(attempt)):
                break
            status, code, answer = self._post(url, body, headers)
            record["attempts"].append({"status": status, "code": code, "answer": answer})
            record["code"] = code if status == 200 else None  # a code in an error page counts for nothing
            if status == 200 and code == 0:
                record["accepted"] = True
                break
        return record

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, int | None, str]:
        try:
            response = self._session.post(url, data=body, headers=headers, timeout=self.timeout,
                                          allow_redirects=False)
        except requests.RequestException as exc:
            logger.info("sandbox notification to %s failed: %s", url, type(exc).__name__)
            return None, None, type(exc).__name__
        try:
            answer = jsonwire.loads(response.content)
            code = answer.get("code") if isinstance(answer, dict) else None
        except ValueError:
            code = None
        return response.status_code, code if type(code) is int else None, response.text[:500]
