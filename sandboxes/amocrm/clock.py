"""A settable clock for tests: code/token expiry and timestamps follow it, the rate limiter does not."""

from __future__ import annotations

import threading


class ManualClock:
    def __init__(self, start: float = 1767225600.0):
        self._lock = threading.Lock()
        self._now = float(start)

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, moment: float) -> None:
        with self._lock:
            self._now = float(moment)
