"""CrmSandbox: the sandbox state served by a ThreadingHTTPServer on a loopback port, in a background thread."""

from __future__ import annotations

import socket
import struct
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .core import SandboxCore
from .dispatch import handle
from .http_io import Request, problem
from .outbound import is_loopback_host

MAX_BODY_BYTES = 5 * 1024 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # keep-alive client connections must not hold up stop()
    core: SandboxCore
    verbose: bool


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, keep-alive clients wait ~40 ms per answer.
    disable_nagle_algorithm = True
    server_version = "nginx"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.send_error(413)
            return
        body = self.rfile.read(length)
        split = urlsplit(self.path)
        request = Request(self.command, split.path, parse_qs(split.query, keep_blank_values=True),
                          {name.lower(): value for name, value in self.headers.items()}, body)
        try:
            response = handle(self.server.core, request)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            response = problem(500, "Internal Server Error", "The sandbox failed on this request")
        if response.reset:
            self._reset_connection()
            return
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.status != 204:
            self.wfile.write(response.body)

    def _reset_connection(self) -> None:
        """Close with SO_LINGER 0: the client gets a TCP RST (ECONNRESET), not an answer."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def log_message(self, format: str, *args: object) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class CrmSandbox(SandboxCore):
    """A loopback amoCRM: `start()` binds (port 0 = any free port), `url` is its base, `stop()` ends it."""

    _server: _Server | None = None
    _thread: threading.Thread | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False) -> CrmSandbox:
        if not is_loopback_host(host):
            raise ValueError("the sandbox listens on loopback addresses only")
        self.remember_seed()
        self._server = _Server((host, port), _Handler)
        self._server.core, self._server.verbose = self, verbose
        bound_host, bound_port = self._server.server_address[:2]
        self.host = f"{bound_host}:{bound_port}"
        # A short poll keeps stop() fast; the default half second adds up over a test run.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="amocrm-sandbox",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # wakes requests sleeping on an injected delay
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.emitter.close()

    def __enter__(self) -> CrmSandbox:
        return self if self._server else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

