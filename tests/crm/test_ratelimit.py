"""The shared request budget: calls are spaced evenly, across threads, with Redis or (no Redis) files."""
import threading
import time
import uuid

import pytest

from crm import coordination
from crm.amocrm.ratelimit import RateLimitWait, TokenBucket


def max_in_any_window(moments: list[float], window: float) -> int:
    moments = sorted(moments)
    return max(sum(1 for other in moments[index:] if other - moment < window) for index, moment in enumerate(moments))


def take_on_threads(bucket: TokenBucket, name: str, threads: int, each: int) -> list[float]:
    moments: list[float] = []
    lock = threading.Lock()

    def run():
        for _ in range(each):
            bucket.acquire(name)
            with lock:
                moments.append(time.monotonic())

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    return moments


@pytest.fixture(params=["redis", "files"])
def backend(request, settings, monkeypatch, tmp_path):
    if request.param == "files":
        settings.REDIS_URL = ""
        monkeypatch.setattr(coordination, "lock_dir", lambda: tmp_path)
    return request.param


def test_calls_from_many_threads_are_spaced_and_never_exceed_the_rate(backend):
    bucket = TokenBucket(rate=40)

    moments = take_on_threads(bucket, f"t-{uuid.uuid4().hex}", threads=4, each=6)

    assert len(moments) == 24
    # At most rate × window + 1 in any window (one more for the jitter of reading the clock after a grant).
    assert max_in_any_window(moments, 0.5) <= 22


def test_a_pause_stops_every_caller_of_the_account(backend, monkeypatch):
    bucket = TokenBucket(rate=100)
    name = f"t-{uuid.uuid4().hex}"
    bucket.pause(name, 0.4)
    waits: list[float] = []
    real_sleep = time.sleep
    monkeypatch.setattr("crm.amocrm.ratelimit.time.sleep", lambda s: (waits.append(s), real_sleep(s)))

    bucket.acquire(name)

    assert sum(waits) >= 0.35  # the bucket itself asked to wait out the pause
    assert bucket.paused_for(name) == 0


def test_a_wait_beyond_what_the_caller_accepts_raises(backend):
    bucket = TokenBucket(rate=100)
    name = f"t-{uuid.uuid4().hex}"
    bucket.pause(name, 5)

    with pytest.raises(RateLimitWait) as raised:
        bucket.acquire(name, max_wait=0.2)
    assert 4 < raised.value.wait_seconds <= 5


def test_the_exclusive_lock_is_held_by_one_worker_at_a_time(backend):
    name = f"t-{uuid.uuid4().hex}"
    inside, overlaps = [], []

    def work():
        with coordination.exclusive(name, hold_seconds=5, wait_seconds=5):
            if inside:
                overlaps.append(True)
            inside.append(True)
            time.sleep(0.05)
            inside.pop()

    workers = [threading.Thread(target=work) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=10)
    assert overlaps == []

    with coordination.exclusive(name, hold_seconds=5, wait_seconds=1), pytest.raises(coordination.LockTimeout), \
            coordination.exclusive(name, hold_seconds=5, wait_seconds=0.1):
        pass
