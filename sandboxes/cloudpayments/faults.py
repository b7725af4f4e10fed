"""Fault switches: failing, slow, dropped or throttled API answers and odd notification delivery."""
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Faults:
    fail_next: int = 0  # answer the next N API calls with `status`
    status: int = 500
    drop_next: int = 0  # close the connection of the next N API calls without an answer
    delay_seconds: Decimal = Decimal(0)  # wait this long before every API answer
    max_in_flight: int | None = None  # answer 429 above this many concurrent API calls
    duplicate_notifications: bool = False  # deliver every notification but Check twice
    fail_then_pay: bool = False  # a successful payment first fails once, then a fallback Pays
    corrupt_signature: bool = False  # sign notifications with a wrong key


def seconds(value: Decimal) -> float:
    """Decimal seconds for time.sleep, which takes no Decimal; millisecond precision is plenty here."""
    return int(value * 1000) / 1000


class FaultSwitches:
    """The current Faults, changed by the control API and consumed by API calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults = Faults()
        self._in_flight = 0

    @property
    def current(self) -> Faults:
        return self._faults

    def update(self, changes: dict[str, Any]) -> Faults:
        """Apply the given switches ({"reset": true} first clears all); unknown names raise ValueError."""
        known = {field.name: field.type for field in fields(Faults)}
        unknown = set(changes) - set(known) - {"reset"}
        if unknown:
            raise ValueError(f"unknown fault switches: {sorted(unknown)}")
        values = {name: _coerce(name, value) for name, value in changes.items() if name != "reset"}
        with self._lock:
            base = Faults() if changes.get("reset") else self._faults
            self._faults = replace(base, **values)
            return self._faults

    def take_api_fault(self) -> tuple[str, int] | None:
        """("drop", 0) or ("status", code) for this call, counting it against the N of the switch."""
        with self._lock:
            if self._faults.drop_next > 0:
                self._faults = replace(self._faults, drop_next=self._faults.drop_next - 1)
                return ("drop", 0)
            if self._faults.fail_next > 0:
                self._faults = replace(self._faults, fail_next=self._faults.fail_next - 1)
                return ("status", self._faults.status)
            return None

    @contextmanager
    def in_flight(self) -> Iterator[bool]:
        """Counts a call in flight; yields True when it is over the max_in_flight limit."""
        with self._lock:
            self._in_flight += 1
            limit = self._faults.max_in_flight
            over = limit is not None and self._in_flight > limit
        try:
            yield over
        finally:
            with self._lock:
                self._in_flight -= 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self._faults)


def _coerce(name: str, value: Any) -> Any:
    if name in {"duplicate_notifications", "fail_then_pay", "corrupt_signature"}:
        return bool(value)
    if name == "delay_seconds":
        return Decimal(str(value))
    if value is None and name == "max_in_flight":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer")
    return value
