"""The sandbox's state: shops, payments, refunds, the idempotence store and the fault switches."""
import hashlib
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

IDEMPOTENCE_TTL_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 64


class ApiError(Exception):
    """An answer in YooKassa's error shape: {"type": "error", "id", "code", "description", "parameter"}."""

    def __init__(self, status: int, code: str, description: str, parameter: str | None = None) -> None:
        super().__init__(description)
        self.status, self.code, self.description, self.parameter = status, code, description, parameter

    def body(self) -> dict[str, Any]:
        body = {"type": "error", "id": str(uuid.uuid4()), "code": self.code, "description": self.description}
        if self.parameter:
            body["parameter"] = self.parameter
        return body


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{datetime.now(UTC).microsecond // 1000:03d}Z"


def object_id() -> str:
    """36 characters like YooKassa's: `23d93cac-000f-5000-8000-126628f15141`."""
    return str(uuid.uuid4())


def amount_parse(raw: Any, parameter: str = "amount") -> dict[str, str]:
    if not isinstance(raw, dict) or not isinstance(raw.get("value"), str | int | float | Decimal):
        raise ApiError(400, "invalid_request", "Amount is missing or malformed", parameter)
    text = str(raw["value"])
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ApiError(400, "invalid_request", "Amount value is not a number", f"{parameter}.value") from exc
    if value <= 0 or value != value.quantize(Decimal("0.01")):
        raise ApiError(400, "invalid_request", "Amount value must be > 0 with at most 2 decimals",
                       f"{parameter}.value")
    currency = raw.get("currency")
    if currency != "RUB":
        raise ApiError(400, "invalid_request", "Only RUB is accepted by this shop", f"{parameter}.currency")
    return {"value": format(value.quantize(Decimal("0.01")), "f"), "currency": currency}


@dataclass
class Faults:
    fail_next: int = 0  # answer the next N API calls with `status` (500, 429, 202 …) before doing anything
    status: int = 500
    lose_next: int = 0  # do the next N writes, then drop the connection: delivered, answer lost
    delay_seconds: float = 0.0  # hang before answering (timeouts)
    charge_outcome: str = "succeeded"  # autopayments: succeeded | pending | <cancellation reason>
    refund_outcome: str = "succeeded"  # succeeded | pending | <cancellation reason>
    notify_copies: int = 1  # deliver each notification this many times (duplicates)
    notify: bool = True  # switch the sender off (tests that deliver by hand)
    payout_outcome: str = "succeeded"  # payouts: succeeded | pending | <cancellation reason>


@dataclass
class Shop:
    shop_id: str
    secret_key: str
    notify_url: str | None
    payouts: bool = False  # a payout gateway (agent id), not a payment shop (§14)
    balance: Decimal = Decimal("1000000.00")  # a payout gateway's balance: beyond it, insufficient_funds


@dataclass
class Store:
    shops: dict[str, Shop]
    payments: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    payouts: dict[str, dict] = field(default_factory=dict)
    saved_methods: dict[str, str] = field(default_factory=dict)  # method id -> shop id
    revoked_methods: set[str] = field(default_factory=set)
    keys: dict[tuple[str, str], tuple[float, str, str, int, dict]] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    journal: list[dict] = field(default_factory=list)
    deliveries: list[dict] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def remembered(self, shop_id: str, key: str, endpoint: str, body: bytes) -> tuple[int, dict] | None:
        """The first answer to this key, replayed; the same key with another body or endpoint is an error."""
        digest = hashlib.sha256(body).hexdigest()
        with self.lock:
            seen = self.keys.get((shop_id, key))
            if seen is None or time.time() - seen[0] > IDEMPOTENCE_TTL_SECONDS:
                return None
            _at, first_endpoint, first_digest, status, answer = seen
            if (first_endpoint, first_digest) != (endpoint, digest):
                raise ApiError(400, "invalid_request", "Idempotence key duplicated with another request",
                               "Idempotence-Key")
            return status, answer

    def remember(self, shop_id: str, key: str, endpoint: str, body: bytes, status: int, answer: dict) -> None:
        with self.lock:
            self.keys[(shop_id, key)] = (time.time(), endpoint, hashlib.sha256(body).hexdigest(), status, answer)

    def take_fault(self) -> int | None:
        with self.lock:
            if self.faults.fail_next:
                self.faults.fail_next -= 1
                return self.faults.status
            return None

    def take_lose(self) -> bool:
        with self.lock:
            if self.faults.lose_next:
                self.faults.lose_next -= 1
                return True
            return False
