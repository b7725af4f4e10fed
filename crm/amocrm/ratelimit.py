"""The per-account request budget every worker shares: a token bucket in Redis, paced for amoCRM's 7 rps.

amoCRM counts calls in any sliding second, so the bucket holds a single token: calls are spaced evenly
and no burst can put an eighth call into someone's second. A pause (after a 429 or an IP block) stops
every worker at once.
"""
import json
import time
from dataclasses import dataclass

from django.conf import settings

from crm import coordination

# KEYS: bucket hash, pause key. ARGV: rate per second, capacity. Returns ms to wait (0 = take it now).
# The clock is Redis's own, so workers on different hosts cannot disagree about it.
TAKE_SCRIPT = """
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return paused end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local rate = tonumber(ARGV[1]) / 1000
local capacity = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate) end
if wait == 0 then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 1000)
end
return wait
"""


class RateLimitWait(Exception):
    """The account's budget will not free up within the time the caller can wait."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(f"rate limit: next slot in {wait_seconds:.1f}s")
        self.wait_seconds = wait_seconds


@dataclass
class TokenBucket:
    rate: float
    capacity: float = 1.0

    def acquire(self, name: str, *, max_wait: float = 60.0) -> None:
        """Block until a call may go out for `name`; raise RateLimitWait when that is beyond `max_wait`."""
        deadline = time.monotonic() + max_wait
        while True:
            wait = self._take(name) / 1000
            if wait <= 0:
                return
            if time.monotonic() + wait > deadline:
                raise RateLimitWait(wait)
            time.sleep(wait)

    def pause(self, name: str, seconds: float) -> None:
        """No calls for `name` during `seconds` (a longer pause already set is kept)."""
        milliseconds = max(1, int(seconds * 1000))
        client = coordination.redis_client()
        if client is not None:
            pause_key = coordination.key("pause", name)
            if (client.pttl(pause_key) or 0) < milliseconds:
                client.set(pause_key, "1", px=milliseconds)
            return
        with self._file_state(name) as state:
            state["paused_until"] = max(state.get("paused_until", 0.0), time.time() + seconds)

    def paused_for(self, name: str) -> float:
        client = coordination.redis_client()
        if client is not None:
            return max(0, client.pttl(coordination.key("pause", name)) or 0) / 1000
        with self._file_state(name) as state:
            return max(0.0, state.get("paused_until", 0.0) - time.time())

    def _take(self, name: str) -> float:
        client = coordination.redis_client()
        if client is not None:
            script = _script(client)
            return float(script(keys=[coordination.key("bucket", name), coordination.key("pause", name)],
                                args=[self.rate, self.capacity]))
        with self._file_state(name) as state:
            return _take_local(state, self.rate, self.capacity)

    def _file_state(self, name: str):
        return _FileState(coordination.lock_dir() / f"bucket-{name}.json")


def _take_local(state: dict, rate: float, capacity: float) -> float:
    """The Lua script's arithmetic, for the file-backed fallback."""
    now = time.time()
    if state.get("paused_until", 0.0) > now:
        return (state["paused_until"] - now) * 1000
    tokens = min(capacity, state.get("tokens", capacity) + max(0.0, now - state.get("at", now)) * rate)
    if tokens < 1:
        return (1 - tokens) / rate * 1000
    state["tokens"], state["at"] = tokens - 1, now
    return 0.0


class _FileState:
    """A JSON file read and written under an exclusive lock, shared by processes on one machine."""

    def __init__(self, path) -> None:
        self.path = path
        self._lock = coordination.file_lock(path.name, wait_seconds=10)

    def __enter__(self) -> dict:
        self._lock.__enter__()
        try:
            self.state = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            self.state = {}
        return self.state

    def __exit__(self, *exc_info) -> None:
        try:
            if exc_info[0] is None:
                self.path.write_text(json.dumps(self.state))
        finally:
            self._lock.__exit__(*exc_info)


_scripts: dict[int, object] = {}


def _script(client):
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(TAKE_SCRIPT)
    return script


def account_bucket() -> TokenBucket:
    return TokenBucket(rate=settings.AMOCRM_RATE_LIMIT_RPS)
