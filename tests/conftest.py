"""Shared fixtures: accounts, tokens and an API client that speaks as an amoCRM user."""
import ipaddress
import json
import os
import socket
from datetime import UTC, datetime

import pytest
import time_machine
from hypothesis import HealthCheck, settings

# Hypothesis's per-example deadline and "input generation is slow" check are stopwatches: on two shared
# cores they fail for load, not for a bug. Properties are judged by their assertions only.
settings.register_profile("payplan", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("payplan")

# Django-side imports stay inside the fixtures: the gateway and sandbox suites run without Django.

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _loopback_only(sock: socket.socket, address) -> None:
    """Tests talk to this machine only: a connection to any other address fails before it is made."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = str(address[0])
    try:
        loopback = ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ConnectionRefusedError(f"tests may only connect to loopback addresses, not {host}")


def _guarded_connect(self, address):
    _loopback_only(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    _loopback_only(self, address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_traffic_beyond_loopback():
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    yield
    socket.socket.connect, socket.socket.connect_ex = _real_connect, _real_connect_ex


# The suite's calendar. Every test starts at this instant and the clock ticks on from there, so the
# fixed days tests are written with (a first due date of 2026-12-05, paid on 2026-11-24, invoice
# 2026-000001) stay as far in the future or past as when they were written, on any real date.
# 12:00 in Moscow, 09:00 UTC: the same calendar day in every account time zone from UTC-9 to UTC+14.
# A UTC instant, not a ZoneInfo one, so time-machine leaves the process time zone alone.
FROZEN_NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True, scope="session")
def _pretend_machine_clock():
    """PAYPLAN_TEST_PRETEND_NOW=2028-01-02T10:00:00+03:00 runs the suite as if the machine's clock read
    that instant (ticking): the proof that no test depends on the real date. Tests still start at
    FROZEN_NOW; real_clock and e2e tests see the pretended clock (Chromium too: tests/e2e/conftest.py). We move
    Python's clock, not libc's: libfaketime 0.9.10 hangs Python 3.11's timed lock waits (or, with
    FAKETIME_DONT_FAKE_MONOTONIC=1, makes time.sleep fail with EINVAL)."""
    pretend = os.environ.get("PAYPLAN_TEST_PRETEND_NOW")
    if not pretend:
        yield
        return
    with time_machine.travel(datetime.fromisoformat(pretend), tick=True):
        yield


@pytest.fixture(autouse=True)
def _site_language():
    """Every test starts in the site's language (ru). A request's LocaleMiddleware leaves its language active
    in the thread after the response, so an English request must not change how the next test formats money."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def frozen_clock(request):
    """time-machine at FROZEN_NOW (ticking, so threads, timeouts and token lifetimes behave) for the
    whole process: live servers and sandboxes in threads share it; subprocesses keep the real clock.
    Tests marked `real_clock` (and e2e: Chromium's JS Date cannot be moved) run on the real clock and
    build their dates from the account's today instead."""
    if request.node.get_closest_marker("real_clock") or request.node.get_closest_marker("e2e"):
        yield None
        return
    with time_machine.travel(FROZEN_NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def account(db):
    from billing.services import account_create

    return account_create(crm_account_id=31234567, slug="school", cloudpayments_public_id="pk_school",
                          cloudpayments_api_secret="school-api-secret")


@pytest.fixture
def other_account(db):
    from billing.services import account_create

    return account_create(crm_account_id=7654321, slug="lawyers", cloudpayments_public_id="pk_law",
                          cloudpayments_api_secret="lawyers-api-secret")


class WidgetClient:
    """Calls the widget API with a fresh disposable token, the way $authorizedAjax does."""

    def __init__(self, account, user_id: int = 8765432) -> None:
        from rest_framework.test import APIClient

        self.account = account
        self.user_id = user_id
        self.client = APIClient()

    def headers(self, idempotency_key: str | None = None) -> dict:
        from widget_api.tokens import token_mint

        token = token_mint(account_id=self.account.crm_account_id, subdomain=self.account.slug,
                           user_id=self.user_id)
        headers = {"HTTP_X_AUTH_TOKEN": token}
        if idempotency_key:
            headers["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
        return headers

    def get(self, path: str, **params):
        return self.client.get(path, params, **self.headers())

    def send(self, method: str, path: str, body, idempotency_key: str | None = None):
        payload = body if isinstance(body, str | bytes) else json.dumps(body)
        return getattr(self.client, method)(path, payload, content_type="application/json",
                                            **self.headers(idempotency_key))

    def post(self, path: str, body, idempotency_key: str | None = None):
        return self.send("post", path, body, idempotency_key)

    def put(self, path: str, body, idempotency_key: str | None = None):
        return self.send("put", path, body, idempotency_key)

    def patch(self, path: str, body, idempotency_key: str | None = None):
        return self.send("patch", path, body, idempotency_key)


@pytest.fixture
def widget(account):
    return WidgetClient(account)


@pytest.fixture
def other_widget(other_account):
    return WidgetClient(other_account)


SCHOOL_PLAN = {
    "plan": "equal", "total": "160000.00", "installments_count": 6,
    "first_due_date": "2027-01-05", "due_day": 5,
}


@pytest.fixture
def school_plan():
    return dict(SCHOOL_PLAN)


def assert_error(response, status: int, code: str | None = None, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    if field is not None:
        assert field in body["error"]["fields"], body
    return body["error"]
