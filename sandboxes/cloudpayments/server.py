"""SandboxServer: the loopback CloudPayments sandbox on a ThreadingHTTPServer, started in a thread."""
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from billing.gateway import jsonwire
from sandboxes.cloudpayments.api import ApiEndpoint
from sandboxes.cloudpayments.faults import FaultSwitches
from sandboxes.cloudpayments.idempotency import RequestCache
from sandboxes.cloudpayments.ledger import Account, Clock, Ledger, utc_now
from sandboxes.cloudpayments.notifier import Notifier
from sandboxes.cloudpayments.payer import Payer
from sandboxes.cloudpayments.routes import handle_control, handle_page

logger = logging.getLogger(__name__)


class _HttpServer(ThreadingHTTPServer):
    """Remembers open connections so stop() can close keep-alive ones its threads would wait on."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], sandbox: "SandboxServer") -> None:
        self.sandbox = sandbox
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        with self.connections_lock:
            self.connections.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the peer
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the adapter's pooled session is exercised
    # Headers and body go out in two writes; with Nagle on, a keep-alive client waits ~40 ms per answer
    # (delayed ACK), which made the sandbox, not PayPlan, the pace of every billing-tick benchmark.
    disable_nagle_algorithm = True
    server: _HttpServer

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("sandbox: " + format, *args)

    def _route(self, method: str) -> None:
        sandbox = self.server.sandbox
        path = urlsplit(self.path).path
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if path.startswith("/_sandbox/"):
            status, payload = handle_control(sandbox, method, path, raw)
            self._send(status, jsonwire.dumps(payload).encode("utf-8"), "application/json; charset=utf-8")
        elif path.startswith("/d/"):
            status, html = handle_page(sandbox, method, path, raw)
            self._send(status, html, "text/html; charset=utf-8")
        elif method == "POST":
            result = sandbox.api.handle(path.lstrip("/"), self.headers, raw)
            if result.body is None:
                self.close_connection = True
                return
            self._send(result.status, result.body, "application/json; charset=utf-8")
        else:
            self._send(405, b"", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            # Headers and body in one send: no second small write for Nagle to hold back [I].
            self._headers_buffer.append(b"\r\n" + body)
            self.flush_headers()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timeout fault): nothing to answer


class SandboxServer:
    """A loopback CloudPayments: API, payer pages, notifications to the merchant, control API.

    accounts maps public_id -> (api_secret, account_key); the key names the account in notification URLs.
    """

    def __init__(self, accounts: Mapping[str, tuple[str, str]], host: str = "127.0.0.1", port: int = 0,
                 notify_url_template: str | None = None, *, request_ttl: float = 3600,
                 clock: Clock = utc_now, notify_timeout: float = 30,
                 notify_time_factor: Decimal | str = "0.05", notify_attempts: int = 5,
                 first_transaction_id: int = 100001, public_url: str | None = None) -> None:
        self.ledger = Ledger([Account(public_id, secret, key) for public_id, (secret, key) in accounts.items()],
                             clock, first_transaction_id)
        self.faults = FaultSwitches()
        self.notifier = Notifier(notify_url_template, self.faults, timeout=notify_timeout,
                                 time_factor=Decimal(notify_time_factor), max_attempts=notify_attempts)
        self._stopped = threading.Event()
        self.api = ApiEndpoint(self.ledger, self.faults, RequestCache(timedelta(seconds=request_ttl)),
                               self.notifier, self._stopped)
        self.payer = Payer(self.ledger, self.notifier, self.faults)
        self._address = (host, port)
        self._public_url = public_url
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "SandboxServer":
        self._httpd = _HttpServer(self._address, self)
        self.ledger.public_url = self.url
        # A short poll keeps stop() fast; tests start and stop a sandbox each.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        name="cloudpayments-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.close_connections()
            self._httpd.server_close()
        self.notifier.close()

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._public_url:
            return self._public_url.rstrip("/")
        if self._httpd is None:
            raise RuntimeError("the sandbox is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def notify_url_template(self) -> str | None:
        return self.notifier.url_template

    @notify_url_template.setter
    def notify_url_template(self, template: str | None) -> None:
        self.notifier.url_template = template

    @property
    def journal(self) -> list[dict[str, Any]]:
        """Every API call so far: path, public_id, headers (no Authorization), raw, body, status, answer."""
        return list(self.api.journal)

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """Every notification so far: kind, url, body, headers, attempts with answers, accepted."""
        return list(self.notifier.deliveries)

    def set_faults(self, **switches: Any) -> dict[str, Any]:
        self.faults.update(switches)
        return self.faults.as_dict()

    def pay_order(self, order_id: str, *, outcome: str = "success", amount: Any = None,
                  card: str | None = None, reason_code: int | None = None, exp: str | None = None
                  ) -> dict[str, Any]:
        return self.payer.pay(order_id, outcome=outcome, amount=amount, card=card, reason_code=reason_code,
                              exp=exp)

    def script_token(self, token: str, outcomes: list[int | str]) -> list[int | str]:
        """The outcomes the token's next charges get, in order: a ReasonCode (0 approves) or "3ds"; after
        the script runs out, the card's own behaviour (expiry, test card) applies again."""
        checked: list[int | str] = []
        for outcome in outcomes:
            if outcome == "3ds":
                checked.append("3ds")
            elif isinstance(outcome, int) and not isinstance(outcome, bool) and outcome >= 0:
                checked.append(outcome)
            else:
                raise ValueError(f"an outcome is a ReasonCode (0 approves) or '3ds', not {outcome!r}")
        with self.ledger.lock:
            if token not in self.ledger.tokens:
                raise LookupError(f"no token {token!r}")
            self.ledger.token_scripts[token] = checked
            return list(checked)

    def notify(self, kind: str, account_key: str, fields: dict[str, str]) -> list[dict[str, Any]]:
        account = self.ledger.accounts_by_key.get(account_key)
        if account is None:
            raise LookupError(f"no account with key {account_key!r}")
        return self.notifier.send(account, kind, fields)

    def wait_for_deliveries(self, count: int, timeout: float = 5) -> list[dict[str, Any]]:
        """Deliveries once at least `count` exist and none is still being retried."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            deliveries = self.deliveries
            if len(deliveries) >= count and not self.notifier.busy:
                return deliveries
            time.sleep(0.01)
        raise TimeoutError(f"expected {count} deliveries, have {len(self.deliveries)}")
