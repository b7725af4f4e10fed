"""The "install via button" consent page: GET /oauth shows Allow, POST /oauth/allow redirects with a code."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from .http_io import Request, Response, html, redirect, with_query
from .models import by_id

if TYPE_CHECKING:
    from .core import SandboxCore

PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>amoCRM sandbox: grant access</title></head>
<body>
<h1>Предоставить доступ интеграции</h1>
<p>Integration <code>{client_id}</code> asks for access to your account.</p>
<form method="post" action="/oauth/allow">
<input type="hidden" name="client_id" value="{client_id}">
<input type="hidden" name="state" value="{state}">
<label>Account <select name="account_id">{accounts}</select></label>
<button type="submit" name="allow" value="1">Allow</button>
</form>
</body></html>"""


def consent_page(core: SandboxCore, request: Request) -> Response:
    client_id = request.arg("client_id", "")
    if client_id != core.client_id:
        return html(400, "<h1>Unknown integration</h1>")
    with core.lock:
        options = "".join(f'<option value="{a.id}">{escape(a.name or a.subdomain)} ({a.subdomain})</option>'
                          for a in core.accounts.values())
    return html(200, PAGE.format(client_id=escape(client_id), state=escape(request.arg("state", "")),
                                 accounts=options))


def consent_allow(core: SandboxCore, request: Request) -> Response:
    form = request.payload()
    form = form if isinstance(form, dict) else {}
    if form.get("client_id") != core.client_id:
        return html(400, "<h1>Unknown integration</h1>")
    with core.lock:
        account = by_id(core.accounts, _int_or_none(form.get("account_id")))
    if account is None:
        return html(400, "<h1>Unknown account</h1>")
    params = {"code": core.issue_code(account.id), "referer": core.host}
    if form.get("state"):
        params["state"] = form["state"]
    return redirect(with_query(core.redirect_uri, params))


def _int_or_none(raw: object) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None
