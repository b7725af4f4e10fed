"""A small closed-loop HTTP load generator for loopback servers: N threads, keep-alive, bounded."""
import http.client
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    seconds: float
    answers: list[tuple[int, bytes]] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return len(self.answers) / self.seconds if self.seconds else 0.0


def post_all(base_url: str, requests_: list[tuple[str, bytes, dict]], threads: int = 8,
             timeout: float = 30.0) -> LoadResult:
    """POST every (path, body, headers) once, spread over `threads` keep-alive connections."""
    parts = urlsplit(base_url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("load is only ever sent to loopback addresses")
    chunks = [requests_[index::threads] for index in range(threads)]
    answers: list[list[tuple[int, bytes]]] = [[] for _ in range(threads)]

    def run(index: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        for path, body, headers in chunks[index]:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            answers[index].append((response.status, response.read()))
        connection.close()

    workers = [threading.Thread(target=run, args=(index,)) for index in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=600)
    elapsed = time.perf_counter() - started
    return LoadResult(seconds=elapsed, answers=[answer for chunk in answers for answer in chunk])
