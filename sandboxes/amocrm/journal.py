"""Record of every CRM-facing request the sandbox answered, for assertions in tests."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class JournalEntry:
    method: str
    path: str
    query: dict[str, list[str]]
    body: object  # parsed JSON, a form as a dict, or None
    token: str | None  # the bearer access token, if any
    status: int  # 0: the connection was reset before the request was applied
    time: float  # sandbox clock, unix seconds
    user_agent: str | None = None
    reset: str | None = None  # "before"/"after" applying: the client got a connection reset, not `status`

    def as_dict(self) -> dict:
        return asdict(self)


class Journal:
    def __init__(self):
        self._lock = threading.Lock()
        self._entries: list[JournalEntry] = []

    def append(self, entry: JournalEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[JournalEntry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
