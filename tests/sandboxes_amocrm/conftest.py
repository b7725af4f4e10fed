"""Fixtures for the amoCRM sandbox tests: a sandbox per test, an HTTP client with a token, a hook receiver."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from sandboxes.amocrm import CrmSandbox, ManualClock

TIMEOUT = 5


class CrmClient:
    """requests with a base URL, a bearer token and a timeout on every call."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url
        self.token = token
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.session.request(method, self.base_url + path, headers=headers, timeout=TIMEOUT,
                                    allow_redirects=False, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


class HookReceiver:
    """A loopback server standing in for our backend: records every request it gets and answers 200."""

    def __init__(self):
        self.requests: list[dict] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def _record(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                split = urlsplit(self.path)
                with receiver.arrived:
                    receiver.requests.append({"method": self.command, "path": split.path,
                                              "query": dict(parse_qsl(split.query)), "body": body,
                                              "form": dict(parse_qsl(body)),
                                              "content_type": self.headers.get("Content-Type")})
                    receiver.arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _record

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def wait_for(self, count: int, timeout: float = TIMEOUT) -> list[dict]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(time.time())


@pytest.fixture
def sandbox(clock: ManualClock):
    """The demo sandbox without the rate limiter, so functional tests need not pace themselves."""
    sandbox = CrmSandbox(clock=clock, rate_limit_rps=None).start()
    yield sandbox
    sandbox.stop()


class OAuthCalls:
    """The token endpoint as our backend calls it, against one sandbox."""

    def __init__(self, sandbox: CrmSandbox):
        self.sandbox = sandbox
        self.client = CrmClient(sandbox.url)

    def _token(self, grant: dict) -> requests.Response:
        return self.client.post("/oauth2/access_token", json={
            "client_id": self.sandbox.client_id, "client_secret": self.sandbox.client_secret,
            "redirect_uri": self.sandbox.redirect_uri, **grant})

    def exchange(self, code: str) -> requests.Response:
        return self._token({"grant_type": "authorization_code", "code": code})

    def refresh(self, refresh_token: str) -> requests.Response:
        return self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def installed_client(self, user_id: int | None = None) -> CrmClient:
        """A client holding an access token got the way our backend gets it: code, then exchange."""
        answer = self.exchange(self.sandbox.issue_code(user_id=user_id))
        assert answer.status_code == 200
        return CrmClient(self.sandbox.url, answer.json()["access_token"])


@pytest.fixture
def oauth(sandbox: CrmSandbox) -> OAuthCalls:
    return OAuthCalls(sandbox)


@pytest.fixture
def crm(oauth: OAuthCalls) -> CrmClient:
    return oauth.installed_client()


@pytest.fixture
def client_for():
    """Make a client for a sandbox a test starts itself (other redirect_uri, hooks, limits)."""
    return lambda sandbox, token=None: CrmClient(sandbox.url, token)


@pytest.fixture
def receiver():
    receiver = HookReceiver()
    yield receiver
    receiver.close()
