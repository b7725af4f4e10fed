"""Injected failures for the next K matching calls: a status (429/5xx/204) and/or a delay (timeouts),
or a connection reset (closed without an answer) before or after the sandbox applied the request."""

from __future__ import annotations

import threading
from dataclasses import dataclass

FAULT_STATUSES = (204, 429, 500, 502, 503, 504)
MAX_DELAY_SECONDS = 30.0
MAX_FAULT_CALLS = 1000
RESET_MOMENTS = ("before", "after")  # the request is dropped unapplied, or applied and its answer dropped
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


@dataclass(frozen=True)
class Fault:
    status: int | None
    delay_seconds: float
    path_prefix: str
    reset: str | None = None
    method: str | None = None  # None: any method

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path_prefix) and self.method in (None, method)


class FaultPlan:
    def __init__(self):
        self._lock = threading.Lock()
        self._queue: list[Fault] = []

    def add(self, spec: object) -> int:
        """Queue faults from `{"next": K, "status": .., "delay_seconds": .., "reset": "before"|"after",
        "path_prefix": .., "method": ..}`."""
        if not isinstance(spec, dict):
            raise ValueError("fault spec must be a JSON object")
        count, status = spec.get("next", 1), spec.get("status")
        delay, prefix = spec.get("delay_seconds", 0), spec.get("path_prefix", "/api/v4/")
        reset, method = spec.get("reset"), spec.get("method")
        if not isinstance(count, int) or not 1 <= count <= MAX_FAULT_CALLS:
            raise ValueError(f"next must be an integer from 1 to {MAX_FAULT_CALLS}")
        if status is not None and status not in FAULT_STATUSES:
            raise ValueError(f"status must be one of {FAULT_STATUSES}")
        if not isinstance(delay, int | float) or not 0 <= delay <= MAX_DELAY_SECONDS:
            raise ValueError(f"delay_seconds must be from 0 to {MAX_DELAY_SECONDS}")
        if reset is not None and reset not in RESET_MOMENTS:
            raise ValueError(f"reset must be one of {RESET_MOMENTS}")
        if reset is not None and status is not None:
            raise ValueError("a reset sends no answer: give a status or a reset, not both")
        if status is None and reset is None and not delay:
            raise ValueError("give a status, a reset, a delay_seconds, or a delay with one of the others")
        if method is not None and method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}")
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            raise ValueError("path_prefix must be a path")
        with self._lock:
            self._queue.extend([Fault(status, float(delay), prefix, reset, method)] * count)
            return len(self._queue)

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._queue):
                if fault.matches(method, path):
                    return self._queue.pop(index)
            return None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)
