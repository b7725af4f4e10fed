"""One keep-alive call to the CloudPayments sandbox, median of 35 [I]: the answer in one send (now) against
headers and body in two writes (before), each with Nagle's algorithm on and off.

    .venv/bin/python bench/sandbox_latency.py
"""
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import requests

from sandboxes.cloudpayments import server
from sandboxes.cloudpayments.server import SandboxServer


def two_writes(self, status: int, body: bytes, content_type: str) -> None:
    """The sandbox's answer before: headers flushed, then the body in a second write."""
    self.send_response(status)
    self.send_header("Content-Type", content_type)
    self.send_header("Content-Length", str(len(body)))
    self.end_headers()
    self.wfile.write(body)


def median_ms(calls: int = 40) -> float:
    with SandboxServer({"pk_bench": ("secret", "key")}) as sandbox, requests.Session() as session:
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            session.post(f"{sandbox.url}/test", json={}, auth=("pk_bench", "secret"))
            times.append(time.perf_counter() - started)
    return statistics.median(times[5:]) * 1000


def main() -> int:
    one_send = server._Handler._send
    for name, send in (("one send (now)", one_send), ("two writes (before)", two_writes)):
        server._Handler._send = send
        for nodelay in (False, True):
            server._Handler.disable_nagle_algorithm = nodelay
            print(f"{name}, TCP_NODELAY {'on' if nodelay else 'off'}: {median_ms():.2f} ms", flush=True)
    server._Handler._send = one_send
    return 0


if __name__ == "__main__":
    sys.exit(main())
