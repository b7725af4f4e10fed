"""Fixtures for the gateway tests: a sandbox, an adapter pointed at it, a webhook receiver, a clock."""
import sys
from pathlib import Path

# pytest-django puts the project root on sys.path (it finds manage.py); these tests run with -p no:django.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import json  # noqa: E402
import threading  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from urllib.parse import parse_qsl  # noqa: E402

import pytest  # noqa: E402
import requests  # noqa: E402

from billing.gateway.cloudpayments import CloudPaymentsGateway  # noqa: E402
from billing.gateway.jsonwire import dumps  # noqa: E402
from billing.gateway.signature import verify_notification  # noqa: E402
from sandboxes.cloudpayments import SandboxServer  # noqa: E402

PUBLIC_ID = "pk_sandbox_school"
API_SECRET = "sandbox_api_secret"
ACCOUNT_KEY = "school"
OTHER_PUBLIC_ID = "pk_sandbox_other"
OTHER_SECRET = "other_api_secret"
OTHER_KEY = "other"
ACCOUNTS = {PUBLIC_ID: (API_SECRET, ACCOUNT_KEY), OTHER_PUBLIC_ID: (OTHER_SECRET, OTHER_KEY)}
SECRETS_BY_KEY = {ACCOUNT_KEY: API_SECRET, OTHER_KEY: OTHER_SECRET}


class FakeClock:
    """An injectable clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Receiver:
    """A merchant's webhook endpoint: verifies HMAC with signature.py, records, answers as scripted."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.scripts: dict[str, list[tuple[int, bytes]]] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ReceiverHandler)
        self._httpd.receiver = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url_template(self) -> str:
        port = self._httpd.server_address[1]
        return f"http://127.0.0.1:{port}/webhooks/cloudpayments/{{account_key}}/{{kind}}"

    @property
    def kinds(self) -> list[str]:
        return [entry["kind"] for entry in self.received]

    def of_kind(self, kind: str) -> list[dict]:
        return [entry for entry in self.received if entry["kind"] == kind]

    def script(self, kind: str, *answers: tuple[int, dict]) -> None:
        """The next answers for `kind`; after them, {"code": 0} for a good signature."""
        self.scripts[kind] = [(status, json.dumps(body).encode()) for status, body in answers]

    def answer(self, entry: dict) -> tuple[int, bytes]:
        with self._lock:
            self.received.append(entry)
            scripted = self.scripts.get(entry["kind"])
            if scripted:
                return scripted.pop(0)
        if not entry["verified"]:
            return 401, b'{"code": 13}'
        return 200, b'{"code": 0}'

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class _ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        account_key, kind = self.path.rstrip("/").split("/")[-2:]
        secret = SECRETS_BY_KEY.get(account_key, "")
        content_hmac, x_content_hmac = self.headers.get("Content-HMAC"), self.headers.get("X-Content-HMAC")
        entry = {
            "account_key": account_key, "kind": kind, "raw": raw, "headers": dict(self.headers),
            "fields": dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True)),
            "verified": verify_notification(secret, raw, content_hmac, x_content_hmac),
            "raw_variant_ok": verify_notification(secret, raw, content_hmac, None),
            "decoded_variant_ok": verify_notification(secret, raw, None, x_content_hmac),
        }
        status, body = self.server.receiver.answer(entry)  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def sandbox(clock):
    server = SandboxServer(ACCOUNTS, clock=clock, notify_time_factor="0.01", notify_timeout=2)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def notifying_sandbox(sandbox, receiver):
    """The sandbox with its notifications going to the receiver."""
    sandbox.notify_url_template = receiver.url_template
    return sandbox


@pytest.fixture
def make_gateway(sandbox):
    """Adapters on the sandbox with short timeouts and backoff; keyword overrides win."""
    def make(**overrides) -> CloudPaymentsGateway:
        options = {"public_id": PUBLIC_ID, "api_secret": API_SECRET, "base_url": sandbox.url,
                   "connect_timeout": 1, "read_timeout": 2, "retries": 2, "backoff": 0.01, **overrides}
        return CloudPaymentsGateway(**options)
    return make


@pytest.fixture
def gateway(make_gateway) -> CloudPaymentsGateway:
    return make_gateway()


@pytest.fixture
def api(sandbox):
    """Raw API calls to the sandbox as the school's terminal, for what the adapter never sends."""
    session = requests.Session()

    def call(path: str, body: dict | None = None, *, request_id: str | None = None,
             auth: tuple[str, str] = (PUBLIC_ID, API_SECRET)) -> requests.Response:
        headers = {"X-Request-ID": request_id} if request_id else {}
        return session.post(f"{sandbox.url}/{path}", data=dumps(body or {}), auth=auth, timeout=5,
                            headers={"Content-Type": "application/json", **headers})
    yield call
    session.close()


@pytest.fixture
def school() -> dict[str, str]:
    return {"public_id": PUBLIC_ID, "api_secret": API_SECRET, "account_key": ACCOUNT_KEY,
            "other_public_id": OTHER_PUBLIC_ID, "other_secret": OTHER_SECRET, "other_key": OTHER_KEY}
