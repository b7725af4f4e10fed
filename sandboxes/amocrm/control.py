"""Control API under /_sandbox/ for tests and demos: faults, reset, journal, codes, tokens, hooks, counters."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from .http_io import JSON, Request, Response, bad_request, hal, not_found
from .widget_token import WIDGET_TOKEN_TTL_SECONDS

if TYPE_CHECKING:
    from .core import SandboxCore

T = TypeVar("T")
MAX_WAIT_SECONDS = 10.0


def _body(request: Request) -> dict:
    body = request.payload()
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad_request("Body must be a JSON object")
    return body


def _ok(payload: object) -> Response:
    return hal(payload, content_type=JSON)


def _int(body: dict, name: str, default: int | None = None) -> int | None:
    value = body.get(name, default)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise bad_request(f"{name} must be an integer")
    return value


def _known(operation: Callable[[], T]) -> T:
    """Run a core operation, turning its KeyError/ValueError into 404/400 answers."""
    try:
        return operation()
    except KeyError as error:
        raise not_found(str(error.args[0])) from error
    except ValueError as error:
        raise bad_request(str(error.args[0])) from error


def faults_add(core: SandboxCore, request: Request) -> Response:
    try:
        pending = core.faults.add(_body(request))
    except ValueError as error:
        raise bad_request(str(error)) from error
    return _ok({"pending": pending})


def reset(core: SandboxCore, request: Request) -> Response:
    core.reset(data=bool(_body(request).get("data")))
    return _ok({"reset": True})


def journal(core: SandboxCore, request: Request) -> Response:
    return _ok({"entries": [entry.as_dict() for entry in core.journal]})


def counters(core: SandboxCore, request: Request) -> Response:
    return _ok(core.counters())


def codes_issue(core: SandboxCore, request: Request) -> Response:
    body = _body(request)
    code = _known(lambda: core.issue_code(_int(body, "account_id"), _int(body, "user_id")))
    return _ok({"code": code, "referer": core.host, "expires_in": 20 * 60})


def long_lived_token(core: SandboxCore, request: Request) -> Response:
    body = _body(request)
    expires_in = _int(body, "expires_in", 365 * 86400)
    token = _known(lambda: core.issue_long_lived_token(_int(body, "account_id"), expires_in=expires_in,
                                                       user_id=_int(body, "user_id")))
    return _ok({"token_type": "Bearer", "access_token": token, "expires_in": expires_in})


def widget_token(core: SandboxCore, request: Request) -> Response:
    body = _body(request)
    account = _known(lambda: core.account(_int(body, "account_id")))
    token = core.mint_widget_token(
        account.id, _int(body, "user_id", account.first_admin_id),
        exp_in=_int(body, "exp_in", WIDGET_TOKEN_TTL_SECONDS), aud=body.get("aud"), iss=body.get("iss"),
        is_admin=bool(body.get("is_admin", False)))
    return _ok({"token": token})


def lead_status(core: SandboxCore, request: Request, lead_id: int) -> Response:
    body = _body(request)
    status_id = _int(body, "status_id")
    if status_id is None:
        raise bad_request("status_id is required")
    lead = _known(lambda: core.set_lead_status(lead_id, status_id, _int(body, "pipeline_id"),
                                               user_id=_int(body, "user_id")))
    return _ok({"id": lead.id, "status_id": lead.status_id, "pipeline_id": lead.pipeline_id,
                "updated_at": lead.updated_at})


def task_complete(core: SandboxCore, request: Request, task_id: int) -> Response:
    body = _body(request)
    result = body.get("result", "")
    if not isinstance(result, str):
        raise bad_request("result must be a string")
    return _ok(_known(lambda: core.complete_task(task_id, user_id=_int(body, "user_id"), result=result)))


def install(core: SandboxCore, request: Request) -> Response:
    body = _body(request)
    return _ok(_known(lambda: core.simulate_install(_int(body, "account_id"), _int(body, "user_id"))))


def uninstall(core: SandboxCore, request: Request) -> Response:
    return _ok(_known(lambda: core.simulate_uninstall(_int(_body(request), "account_id"))))


def webhook_deliveries(core: SandboxCore, request: Request) -> Response:
    try:
        wait = min(float(request.arg("wait", "0")), MAX_WAIT_SECONDS)
    except ValueError as error:
        raise bad_request("wait must be a number of seconds") from error
    deliveries = core.flush_webhooks(timeout=wait)
    return _ok({"deliveries": [{"url": d.url, "body": d.body, "status": d.status, "error": d.error}
                               for d in deliveries]})


ROUTES = [
    ("POST", "/_sandbox/faults", faults_add),
    ("POST", "/_sandbox/reset", reset),
    ("GET", "/_sandbox/journal", journal),
    ("GET", "/_sandbox/counters", counters),
    ("POST", "/_sandbox/codes", codes_issue),
    ("POST", "/_sandbox/token", widget_token),
    ("POST", "/_sandbox/long-lived-token", long_lived_token),
    ("POST", "/_sandbox/leads/{id}/status", lead_status),
    ("POST", "/_sandbox/tasks/{id}/complete", task_complete),
    ("POST", "/_sandbox/install", install),
    ("POST", "/_sandbox/uninstall", uninstall),
    ("GET", "/_sandbox/webhooks", webhook_deliveries),
]
