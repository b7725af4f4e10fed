"""Bitrix24Sandbox: the authorization server, the portals' REST and a control API on one loopback port.

    GET  /oauth-server/oauth/token/?grant_type=refresh_token|authorization_code&client_id&client_secret&…
    GET  /oauth-server/rest/app.info?auth=<token>       {result: {client_id, install: {member_id, domain, installed}}}
    POST /rest/{method}[.json]  (JSON or form body, `auth` in body or query)   /rest/{user}/{secret}/{method}
Control (JSON in, JSON out), for tests and demos:
    POST /_sandbox/install {install_url, api_only?, finish?, member_id?}   POST /_sandbox/install-finish
    POST /_sandbox/uninstall {clean?}        POST /_sandbox/frame {deal_id, placement?, user_id?, overrides?}
    POST /_sandbox/portals {member_id, domain}   POST /_sandbox/rename {domain}   POST /_sandbox/codes
    POST /_sandbox/faults {kind: expired_token|query_limit|operation_limit|status|delay|overload, next, method?,
                           status?, delay_seconds?}
    POST /_sandbox/limits {capacity, drain, operation_budget (s per method per 10 min, null = off), method_cost}
    POST /_sandbox/clock {advance}   POST /_sandbox/tokens/expire   POST /_sandbox/payment-required {on}
    POST /_sandbox/events/switches {robot, wrong_token, duplicate, delay_seconds, reorder}
    POST /_sandbox/events/release    GET /_sandbox/events?wait=2
    POST /_sandbox/deals/{id} {fields, user_id?}   POST /_sandbox/deals/{id}/delete   POST /_sandbox/deals {fields}
    POST /_sandbox/tasks/{id}/complete {user_id?}
    GET  /_sandbox/journal   GET /_sandbox/state   POST /_sandbox/reset
Portal pages (HTML, see pages.py): GET /  GET /crm/deal/details/{id}/  GET /marketplace/app/payplan/
Only loopback addresses are bound.
"""
from __future__ import annotations

import ipaddress
import json
import re
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import pages, rest
from .core import OAUTH_PREFIX, Answer, Sandbox
from .state import ADMIN_USER_ID, DEFAULT_MEMBER_ID, MANAGER_USER_ID, RestError

REST_PATH = re.compile(r"^/rest/(?:(?P<user>\d+)/(?P<secret>[^/]+)/)?(?P<method>[a-z0-9_.]+?)(?:\.json)?/?$")
MAX_BODY = 2 * 1024 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: Bitrix24Sandbox
    verbose: bool


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_DELETE = do_GET

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(Answer(413, {"error": "too_large"}))
            return
        raw = self.rfile.read(length)
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        content_type = self.headers.get("Content-Type", "")
        try:
            if "application/json" in content_type and raw:
                body = json.loads(raw)
            elif raw:
                body = rest.php_parse(raw.decode())
            else:
                body = {}
            body = body if isinstance(body, dict) else {}
            answer = self.server.sandbox.dispatch(self.command, split.path, query, body,
                                                  self.headers.get("Host", ""))
        except (ValueError, UnicodeDecodeError) as error:
            answer = Answer(400, {"error": "INVALID_REQUEST", "error_description": str(error)[:200]})
        except Exception:
            traceback.print_exc(file=sys.stderr)
            answer = Answer(500, {"error": "INTERNAL_SERVER_ERROR", "error_description": "sandbox failure"})
        self._send(answer)

    def _send(self, answer: Answer) -> None:
        html = isinstance(answer.body, str)
        payload = answer.body.encode() if html else json.dumps(answer.body, ensure_ascii=False).encode()
        self.send_response(answer.status)
        headers = answer.headers or {}
        if "Content-Type" not in headers:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class Bitrix24Sandbox(Sandbox):
    """`start()` binds a loopback port (0 = any free one) and seeds one portal at `host`; `stop()` ends it."""

    _server: _Server | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False) -> Bitrix24Sandbox:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError("the sandbox listens on loopback addresses only")
        self._server = _Server((host, port), _Handler)
        self._server.sandbox, self._server.verbose = self, verbose
        bound_host, bound_port = self._server.server_address[:2]
        self.host = f"{bound_host}:{bound_port}"
        self.seed_portals()
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="bitrix24-sandbox",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.close()

    def __enter__(self) -> Bitrix24Sandbox:
        return self if self._server else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self.host.rsplit(":", 1)[1])

    # --- routing ------------------------------------------------------------------------------------
    def dispatch(self, verb: str, path: str, query: dict, body: dict, host: str) -> Answer:
        if path.startswith("/_sandbox/"):
            try:
                return self.control(verb, path[len("/_sandbox/"):].rstrip("/"), query, body)
            except KeyError as error:
                return Answer(404, {"error": str(error.args[0])})
            except (ValueError, TypeError) as error:
                return Answer(400, {"error": str(error)})
        if verb == "GET" and not path.startswith(("/rest/", OAUTH_PREFIX)):
            html = pages.page(self, path, query)
            if html is not None:
                return Answer(200, html, {"Content-Type": "text/html; charset=utf-8"})
        params = {**query, **body}
        if path.rstrip("/") == f"{OAUTH_PREFIX}/oauth/token":
            answer = self.oauth_token(params)
            self._log("oauth", "token:" + str(params.get("grant_type")), host, {}, answer)
            return answer
        if path.rstrip("/") in (f"{OAUTH_PREFIX}/rest/app.info", f"{OAUTH_PREFIX}/rest/app.info.json"):
            answer = self.oauth_app_info(str(params.get("auth") or ""))
            self._log("oauth", "app.info", host, {}, answer)
            return answer
        match = REST_PATH.match(path)
        if match is None:
            return Answer(404, {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Not found"})
        method = match["method"]
        access = str(params.pop("auth", "") or "")
        if match["user"]:
            answer = self._webhook(match["user"], match["secret"], method, params, host)
        else:
            answer = self.rest_call(host, method, params, access)
        self._log("rest", method, host, params, answer)
        return answer

    def _webhook(self, user: str, secret: str, method: str, params: dict, host: str) -> Answer:
        if secret != self.webhook_secret:
            return Answer(401, {"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"})
        if method.startswith("placement.") or method.startswith("event."):
            return Answer(403, {"error": "WRONG_AUTH_TYPE", "error_description": "Current authorization type is "
                                                                                  "denied for this method"})
        portal = self.portal(DEFAULT_MEMBER_ID)
        try:
            if method == "batch":
                return Answer(200, {"result": rest.batch(self, portal, int(user), params)})
            result = rest.run(self, portal, int(user), method, params)
        except RestError as error:
            return Answer(error.status, {"error": error.code, "error_description": error.description})
        return Answer(200, {"result": result.rows if isinstance(result, rest.Listed) else result})

    def _log(self, kind: str, method: str, host: str, params: dict, answer: Answer) -> None:
        self.journal.add(direction="in", kind=kind, method=method, host=host, params=params, status=answer.status,
                         error=answer.body.get("error") if isinstance(answer.body, dict) else None, time=self.now())

    # --- control ------------------------------------------------------------------------------------
    def control(self, verb: str, path: str, query: dict, body: dict) -> Answer:
        member_id = body.get("member_id")
        if path == "install":
            return Answer(200, self.install(install_url=str(body["install_url"]), member_id=member_id,
                                            api_only=bool(body.get("api_only")), finish=body.get("finish", True),
                                            user_id=int(body.get("user_id", ADMIN_USER_ID))))
        if path == "install-finish":
            return Answer(200, self.install_finish(member_id))
        if path == "uninstall":
            return Answer(200, self.uninstall(member_id, clean=bool(body.get("clean"))))
        if path == "frame":
            return Answer(200, {"answers": self.open_frame(
                member_id=member_id, deal_id=body.get("deal_id"), placement=body.get("placement",
                                                                                     "CRM_DEAL_DETAIL_TAB"),
                user_id=int(body.get("user_id", MANAGER_USER_ID)), overrides=body.get("overrides"))})
        if path == "portals":
            portal = self.add_portal(str(body["member_id"]), str(body["domain"]))
            return Answer(200, {"member_id": portal.member_id, "domain": portal.domain})
        if path == "rename":
            return Answer(200, self.rename(member_id, str(body["domain"])))
        if path == "codes":
            return Answer(200, {"code": self.issue_code(member_id, int(body.get("user_id", ADMIN_USER_ID)))})
        if path == "faults":
            return Answer(200, {"pending": self.fault_add(body)})
        if path == "limits":
            with self.lock:
                self.bucket_capacity = float(body.get("capacity", self.bucket_capacity))
                self.bucket_drain = float(body.get("drain", self.bucket_drain))
                if "operation_budget" in body:
                    budget = body["operation_budget"]
                    self.operation_budget = None if budget is None else float(budget)
                self.method_cost = float(body.get("method_cost", self.method_cost))
            return Answer(200, {"capacity": self.bucket_capacity, "drain": self.bucket_drain,
                                "operation_budget": self.operation_budget, "method_cost": self.method_cost})
        if path == "clock":
            with self.lock:
                self.clock_offset += float(body.get("advance", 0))
            return Answer(200, {"now": self.now()})
        if path == "tokens/expire":
            return Answer(200, {"expired": self.expire_tokens(member_id)})
        if path == "payment-required":
            self.payment_required = bool(body.get("on"))
            return Answer(200, {"payment_required": self.payment_required})
        if path == "events/switches":
            with self.lock:
                for name in self.event_switches:
                    if name in body:
                        self.event_switches[name] = type(self.event_switches[name])(body[name])
                return Answer(200, dict(self.event_switches))
        if path == "events/release":
            return Answer(200, {"released": self.release_held()})
        if path == "events":
            return Answer(200, {"deliveries": self.flush_events(timeout=min(float(query.get("wait", 0)), 10))})
        if path == "journal":
            return Answer(200, {"entries": self.journal.list()})
        if path == "state":
            return Answer(200, self.snapshot(member_id or query.get("member_id")))
        if path == "reset":
            self.journal.clear()
            with self.lock:
                self.faults.clear()
            return Answer(200, {"reset": True})
        return self._control_entities(path, body, member_id)

    def _control_entities(self, path: str, body: dict, member_id: str | None) -> Answer:
        portal = self.portal(member_id)
        user_id = int(body.get("user_id", MANAGER_USER_ID))
        deal = re.fullmatch(r"deals/(\d+)(/delete)?", path)
        try:
            if path == "deals":
                return Answer(200, {"id": rest.run(self, portal, user_id, "crm.deal.add",
                                                   {"fields": body.get("fields") or {}})})
            if deal and deal[2]:
                return Answer(200, {"result": rest.run(self, portal, user_id, "crm.deal.delete", {"id": deal[1]})})
            if deal:
                return Answer(200, {"result": rest.run(self, portal, user_id, "crm.deal.update",
                                                       {"id": deal[1], "fields": body.get("fields") or {}})})
            task = re.fullmatch(r"tasks/(\d+)/complete", path)
            if task:
                return Answer(200, rest.run(self, portal, user_id, "tasks.task.complete", {"taskId": task[1]}))
        except RestError as error:
            return Answer(error.status, {"error": error.code, "error_description": error.description})
        raise KeyError(f"no control route {path}")

    def snapshot(self, member_id: str | None = None) -> dict:
        portal = self.portal(member_id)
        with self.lock:
            return {"member_id": portal.member_id, "domain": portal.domain, "old_domains": list(portal.old_domains),
                    "app_installed": portal.app_installed, "install_finished": portal.install_finished,
                    "application_token": portal.application_token, "counters": dict(self.counters),
                    "bucket": {"capacity": self.bucket_capacity, "drain": self.bucket_drain},
                    "deals": {str(key): dict(value) for key, value in portal.deals.items()},
                    "userfields": list(portal.userfields), "comments": list(portal.comments.values()),
                    "tasks": list(portal.tasks.values()), "todos": list(portal.todos.values()),
                    "placements": list(portal.placements), "events": list(portal.events)}
