"""What every worker process must agree on: the Redis connection, key names and cross-process locks.

Without REDIS_URL (the zero-config demo: web and worker on one machine) locks fall back to files.
"""
import contextlib
import fcntl
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import redis
from django.conf import settings


class LockTimeout(Exception):
    """Another worker held the lock for longer than we were willing to wait."""


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)


def redis_client() -> redis.Redis | None:
    return _client(settings.REDIS_URL) if settings.REDIS_URL else None


def key(*parts: object) -> str:
    return ":".join([settings.AMOCRM_REDIS_PREFIX, *(str(part) for part in parts)])


def lock_dir() -> Path:
    path = Path(settings.BASE_DIR) / "var" / "amocrm"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def exclusive(name: str, *, hold_seconds: float, wait_seconds: float) -> Iterator[None]:
    """Hold a lock every worker process shares; `hold_seconds` frees it should the holder die."""
    client = redis_client()
    if client is None:
        with file_lock(name, wait_seconds):
            yield
        return
    lock = client.lock(key("lock", name), timeout=hold_seconds, blocking_timeout=wait_seconds)
    if not lock.acquire():
        raise LockTimeout(name)
    try:
        yield
    finally:
        with contextlib.suppress(redis.exceptions.LockError):
            lock.release()


@contextlib.contextmanager
def file_lock(name: str, wait_seconds: float) -> Iterator[None]:
    deadline = time.monotonic() + wait_seconds
    with open(lock_dir() / f"{name.replace(':', '-')}.lock", "a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    raise LockTimeout(name) from exc
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
