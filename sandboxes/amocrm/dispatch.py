"""The request pipeline: control API, IP block, injected faults, OAuth, bearer check, rate limit, routes."""

from __future__ import annotations

import uuid

from . import api_activity, api_catalog, api_contacts, api_leads, api_webhooks, consent, control
from .calls import ApiCall
from .core import SandboxCore
from .http_io import (
    JSON,
    PROBLEM_JSON,
    HttpError,
    Request,
    Response,
    connection_reset,
    hal,
    nginx_page,
    no_content,
    problem,
)
from .journal import JournalEntry
from .limiter import Verdict
from .oauth import OAuthError
from .routing import Router

API_ROUTER = Router(api_leads.ROUTES + api_activity.ROUTES + api_catalog.ROUTES + api_webhooks.ROUTES
                    + api_contacts.ROUTES)
CONTROL_ROUTER = Router(control.ROUTES)


def handle(core: SandboxCore, request: Request) -> Response:
    """Answer one request; everything but the control API goes into the journal."""
    if request.path.startswith("/_sandbox/"):
        return _routed(CONTROL_ROUTER, request, core, request)
    response = _crm(core, request)
    try:
        body = request.payload()
    except HttpError:
        body = request.body.decode(errors="replace")
    core.record(JournalEntry(request.method, request.path, request.query, body, request.bearer,
                             response.status, core.clock(), request.headers.get("user-agent"), response.reset))
    return response


def _routed(router: Router, request: Request, *args: object) -> Response:
    try:
        found = router.match(request.method, request.path)
        if found is None:
            return problem(404, "Not Found", f"No route for {request.path}")
        handler, path_args = found
        return handler(*args, *path_args)
    except HttpError as error:
        return error.response


def _crm(core: SandboxCore, request: Request) -> Response:
    if core.limiter.blocked:
        return nginx_page(403, "Forbidden")  # an IP block answers everything with nginx HTML
    fault = core.faults.take(request.method, request.path)
    if fault is not None:
        if fault.delay_seconds:
            core.stopping.wait(fault.delay_seconds)
        if fault.reset == "before":
            return connection_reset()
        if fault.status is not None:
            return _fault_response(fault.status)
    if request.path.startswith("/api/v4/"):
        response = _api(core, request)
    else:
        response = _routed(PUBLIC_ROUTER, request, core, request)
    if fault is not None and fault.reset == "after":
        response.reset = "after"  # applied, but the client never learns it (nor the new ids)
    return response


def _fault_response(status: int) -> Response:
    if status == 204:
        return no_content()
    if status == 500:
        return problem(500, "Internal Server Error", "Injected fault")
    return nginx_page(status, {429: "Too Many Requests", 502: "Bad Gateway", 503: "Service Unavailable",
                               504: "Gateway Time-out"}[status])


def _api(core: SandboxCore, request: Request) -> Response:
    with core.lock:
        grant = core.oauth.authenticate(request.bearer)
        account = core.accounts.get(grant.account_id) if grant else None
    if grant is None or account is None:
        return problem(401, "Unauthorized", "Access token is missing, expired or revoked")
    verdict = core.limiter.admit(request.bearer)
    if verdict is Verdict.BLOCKED:
        return nginx_page(403, "Forbidden")
    if verdict is Verdict.LIMITED:
        return nginx_page(429, "Too Many Requests")
    call = ApiCall(request, account, grant.user_id, core.url, core.now())
    with core.lock:
        response = _routed(API_ROUTER, request, call)
    if call.lead_changes:
        core.emit_lead_changes(account, call.lead_changes)
    response.headers["X-Request-Id"] = uuid.uuid4().hex
    return response


def access_token(core: SandboxCore, request: Request) -> Response:
    try:
        body = request.payload()
        with core.lock:
            return hal(core.oauth.exchange(body, core.host), content_type=JSON)
    except OAuthError as error:
        return hal(error.body, error.status, PROBLEM_JSON)


def account_subdomain(core: SandboxCore, request: Request) -> Response:
    """Where an account lives now, found by its refresh token (the official library's fallback)."""
    with core.lock:
        account_id = core.oauth.account_for_refresh_token(request.headers.get("x-refresh-token"))
        account = core.accounts.get(account_id) if account_id else None
    if account is None:
        return problem(401, "Unauthorized", "Refresh token is invalid")
    return hal({"id": account.id, "subdomain": account.subdomain, "domain": core.host,
                "top_level_domain": "ru"}, content_type=JSON)


PUBLIC_ROUTER = Router([
    ("POST", "/oauth2/access_token", access_token),
    ("GET", "/oauth2/account/current/subdomain", account_subdomain),
    ("GET", "/oauth", consent.consent_page),
    ("POST", "/oauth/allow", consent.consent_allow),
])
