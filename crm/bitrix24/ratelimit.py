"""The portal's leaky bucket, mirrored in Redis and shared by every worker (contract §3.4).

Bitrix24 adds 1 per request to a per-portal counter that drains by Y per second and answers
503 QUERY_LIMIT_EXCEEDED above X. Every worker takes its slot here first, so the portal's counter
never passes X. When the portal still says "limit" (another app on our IP shares its bucket), the
bucket is marked full and paused: every worker backs off at once.
"""
import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings

from crm.bitrix24 import conf

# KEYS: bucket hash, pause key. ARGV: capacity (X), drain per second (Y), fill (1: mark the bucket full).
# Returns ms to wait (0 = the slot is taken). The clock is Redis's own, so workers cannot disagree about it.
TAKE_SCRIPT = """
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 and ARGV[3] == '0' then return paused end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local capacity = tonumber(ARGV[1])
local drain = tonumber(ARGV[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'level', 'at')
local level = tonumber(state[1]) or 0
local at = tonumber(state[2]) or now
level = math.max(0, level - math.max(0, now - at) * drain)
local wait = 0
if ARGV[3] == '1' then
  level = capacity
elseif level + 1 <= capacity then
  level = level + 1
else
  wait = math.ceil((level + 1 - capacity) / drain)
end
if wait == 0 then
  redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / drain) + 1000)
end
return wait
"""


class BucketWait(Exception):
    """The portal's bucket will not free a slot within the time the caller can wait."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(f"Bitrix24 request budget: next slot in {wait_seconds:.1f}s")
        self.wait_seconds = wait_seconds


_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def redis_client() -> redis.Redis | None:
    url = settings.REDIS_URL
    if not url:
        return None
    with _clients_lock:
        if url not in _clients:
            _clients[url] = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        return _clients[url]


def key(*parts: object) -> str:
    return ":".join([conf.get("BITRIX24_REDIS_PREFIX"), *(str(part) for part in parts)])


@dataclass
class LeakyBucket:
    capacity: float
    drain_per_second: float

    def acquire(self, member_id: str, *, max_wait: float) -> None:
        """Block until one request may go to the portal; BucketWait when that is beyond `max_wait`."""
        deadline = time.monotonic() + max_wait
        while True:
            wait = self._run(member_id, fill=False) / 1000
            if wait <= 0:
                return
            if time.monotonic() + wait > deadline:
                raise BucketWait(wait)
            time.sleep(wait)

    def overflowed(self, member_id: str, pause_seconds: float) -> None:
        """The portal answered QUERY_LIMIT_EXCEEDED: its bucket is full whatever ours said; nobody sends
        for `pause_seconds` (a longer pause already set is kept)."""
        self._run(member_id, fill=True)
        client = redis_client()
        milliseconds = max(1, int(pause_seconds * 1000))
        if client is None:
            _local_pauses[member_id] = max(_local_pauses.get(member_id, 0.0), time.monotonic() + pause_seconds)
            return
        pause_key = key("pause", member_id)
        if (client.pttl(pause_key) or 0) < milliseconds:
            client.set(pause_key, "1", px=milliseconds)

    def _run(self, member_id: str, *, fill: bool) -> float:
        client = redis_client()
        if client is None:
            return _local_take(member_id, self.capacity, self.drain_per_second, fill)
        script = _scripts.get(id(client))
        if script is None:
            script = _scripts[id(client)] = client.register_script(TAKE_SCRIPT)
        return float(script(keys=[key("bucket", member_id), key("pause", member_id)],
                            args=[self.capacity, self.drain_per_second, "1" if fill else "0"]))


_scripts: dict[int, object] = {}
# Without Redis (a zero-config single-process run) the bucket lives in this process only.
_local_lock = threading.Lock()
_local_levels: dict[str, tuple[float, float]] = {}
_local_pauses: dict[str, float] = {}


def _local_take(member_id: str, capacity: float, drain: float, fill: bool) -> float:
    with _local_lock:
        now = time.monotonic()
        paused = _local_pauses.get(member_id, 0.0) - now
        if paused > 0 and not fill:
            return paused * 1000
        level, at = _local_levels.get(member_id, (0.0, now))
        level = max(0.0, level - (now - at) * drain)
        if fill:
            _local_levels[member_id] = (capacity, now)
            return 0.0
        if level + 1 > capacity:
            return (level + 1 - capacity) / drain * 1000
        _local_levels[member_id] = (level + 1, now)
        return 0.0


def portal_bucket() -> LeakyBucket:
    return LeakyBucket(capacity=float(conf.get("BITRIX24_BUCKET_CAPACITY")),
                       drain_per_second=float(conf.get("BITRIX24_BUCKET_DRAIN_RPS")))
