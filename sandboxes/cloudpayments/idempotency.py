"""The X-Request-ID cache: a repeated id gets the byte-identical first answer while it lives."""
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class CachedAnswer:
    status: int
    body: bytes
    expires_at: datetime


class RequestCache:
    """Answers by (public id, request id); callers hold the ledger lock, so a duplicate waits for the first."""

    def __init__(self, ttl: timedelta) -> None:
        self.ttl = ttl
        self._answers: dict[tuple[str, str], CachedAnswer] = {}

    def get(self, public_id: str, request_id: str, now: datetime) -> CachedAnswer | None:
        answer = self._answers.get((public_id, request_id))
        if answer is None or answer.expires_at <= now:
            return None
        return answer

    def put(self, public_id: str, request_id: str, status: int, body: bytes, now: datetime) -> None:
        self._answers[(public_id, request_id)] = CachedAnswer(status, body, now + self.ttl)
