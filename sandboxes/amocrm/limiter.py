"""Per-token sliding-window rate limit (7 req/s) that turns into an IP-style block after repeated 429s."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from enum import Enum


class Verdict(Enum):
    ADMITTED = "admitted"
    LIMITED = "limited"
    BLOCKED = "blocked"


class RateLimiter:
    def __init__(self, rps: int | None = 7, block_after: int = 20,
                 clock: Callable[[], float] = time.monotonic):
        self.rps = rps
        self.block_after = block_after
        self.clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._admitted: dict[str, deque[float]] = {}
            self._attempts: dict[str, deque[float]] = {}
            self.blocked = False
            self.consecutive_limited = 0
            self.limited_total = 0
            self.max_calls_per_second = 0

    def admit(self, key: str) -> Verdict:
        """Count one call by `key`; only admitted calls fill the window, so a client that waits recovers."""
        now = self.clock()
        with self._lock:
            if self.blocked:
                return Verdict.BLOCKED
            attempts = _window(self._attempts, key, now)
            attempts.append(now)
            self.max_calls_per_second = max(self.max_calls_per_second, len(attempts))
            admitted = _window(self._admitted, key, now)
            if self.rps is None or len(admitted) < self.rps:
                admitted.append(now)
                self.consecutive_limited = 0
                return Verdict.ADMITTED
            self.limited_total += 1
            self.consecutive_limited += 1
            if self.consecutive_limited >= self.block_after:
                self.blocked = True
            return Verdict.LIMITED

    def counters(self) -> dict:
        with self._lock:
            return {"max_calls_per_second": self.max_calls_per_second, "rate_limited": self.limited_total,
                    "consecutive_rate_limited": self.consecutive_limited, "blocked": self.blocked}


def _window(windows: dict[str, deque[float]], key: str, now: float) -> deque[float]:
    window = windows.setdefault(key, deque())
    while window and window[0] <= now - 1.0:
        window.popleft()
    return window
