"""Injected failures for the next K matching calls: a status (429/5xx/204) and/or a delay (timeouts)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

FAULT_STATUSES = (204, 429, 500, 502, 503, 504)
MAX_DELAY_SECONDS = 30.0
MAX_FAULT_CALLS = 1000


@dataclass(frozen=True)
class Fault:
    status: int | None
    delay_seconds: float
    path_prefix: str


class FaultPlan:
    def __init__(self):
        self._lock = threading.Lock()
        self._queue: list[Fault] = []

    def add(self, spec: object) -> int:
        """Queue faults from `{"next": K, "status": .., "delay_seconds": .., "path_prefix": ..}`."""
        if not isinstance(spec, dict):
            raise ValueError("fault spec must be a JSON object")
        count, status = spec.get("next", 1), spec.get("status")
        delay, prefix = spec.get("delay_seconds", 0), spec.get("path_prefix", "/api/v4/")
        if not isinstance(count, int) or not 1 <= count <= MAX_FAULT_CALLS:
            raise ValueError(f"next must be an integer from 1 to {MAX_FAULT_CALLS}")
        if status is not None and status not in FAULT_STATUSES:
            raise ValueError(f"status must be one of {FAULT_STATUSES}")
        if not isinstance(delay, int | float) or not 0 <= delay <= MAX_DELAY_SECONDS:
            raise ValueError(f"delay_seconds must be from 0 to {MAX_DELAY_SECONDS}")
        if status is None and not delay:
            raise ValueError("give a status, a delay_seconds, or both")
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            raise ValueError("path_prefix must be a path")
        with self._lock:
            self._queue.extend([Fault(status, float(delay), prefix)] * count)
            return len(self._queue)

    def take(self, path: str) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._queue):
                if path.startswith(fault.path_prefix):
                    return self._queue.pop(index)
            return None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)
