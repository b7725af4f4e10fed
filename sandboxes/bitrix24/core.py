"""The sandbox's behaviour over its state: the OAuth server, portal REST with limits and faults, the
install simulator, the frame opener, the event emitter (a queue, at most once, no retries)."""
from __future__ import annotations

import json
import queue
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import requests

from . import rest
from .state import ADMIN_USER_ID, DEFAULT_MEMBER_ID, MANAGER_USER_ID, Portal, RestError, State

OAUTH_PREFIX = "/oauth-server"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


@dataclass
class Answer:
    status: int
    body: dict
    headers: dict | None = None


def loopback_url(url: str) -> bool:
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    return url.startswith(("http://", "https://")) and (host in ("127.0.0.1", "localhost", "::1"))


class Sandbox(State):
    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.host = ""  # 127.0.0.1:port once bound
        self._deliveries: queue.Queue = queue.Queue()
        self._held: list[dict] = []  # deliveries held back for the "reorder" switch
        self.delivered: list[dict] = []
        self._worker = threading.Thread(target=self._deliver_loop, name="bitrix24-sandbox-events", daemon=True)
        self._worker.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def oauth_url(self) -> str:
        return f"{self.url}{OAUTH_PREFIX}"

    def seed_portals(self) -> None:
        with self.lock:
            if not self.portals:
                self.add_portal(DEFAULT_MEMBER_ID, self.host)

    # --- OAuth server (contract §2.3, §2.5) -----------------------------------------------------------
    def oauth_token(self, params: dict) -> Answer:
        if params.get("client_id") != self.client_id or params.get("client_secret") != self.client_secret:
            return Answer(401, {"error": "invalid_client", "error_description": "Invalid client"})
        if self.payment_required:
            return Answer(402, {"error": "PAYMENT_REQUIRED", "error_description": "Payment required"})
        grant = params.get("grant_type")
        try:
            if grant == "refresh_token":
                held = self.use_refresh(str(params.get("refresh_token") or ""))
            elif grant == "authorization_code":
                with self.lock:
                    entry = self.codes.pop(str(params.get("code") or ""), None)
                if entry is None or entry[1] < self.now():
                    raise RestError(400, "invalid_grant", "Invalid authorization code")
                held = entry[0]
            else:
                return Answer(400, {"error": "invalid_request", "error_description": "Unknown grant_type"})
        except RestError as error:
            return Answer(error.status, {"error": error.code, "error_description": error.description})
        portal = self.portal(held.member_id)
        access, refresh = self.issue_pair(held.member_id, held.user_id)
        return Answer(200, {"access_token": access, "refresh_token": refresh, "expires_in": 3600,
                            "expires": int(self.now()) + 3600, "member_id": portal.member_id,
                            "client_endpoint": f"http://{portal.domain}/rest/",
                            "server_endpoint": f"{self.oauth_url}/rest/", "domain": self.host,
                            "scope": "crm,placement,task,im,user_brief", "status": portal.plan_status,
                            "user_id": held.user_id})

    def issue_code(self, member_id: str | None = None, user_id: int = ADMIN_USER_ID) -> str:
        portal = self.portal(member_id)
        with self.lock:
            code = f"code{self.next_id():08d}"
            self.codes[code] = (self.tokens_template(portal.member_id, user_id), self.now() + 30)
            return code

    def tokens_template(self, member_id: str, user_id: int):
        from .state import Token

        return Token(member_id, user_id, 0)

    def oauth_app_info(self, access: str) -> Answer:
        try:
            held = self.token(access)
        except RestError as error:
            return Answer(error.status, {"error": error.code, "error_description": error.description})
        portal = self.portal(held.member_id)
        return Answer(200, {"result": {
            "client_id": self.client_id, "scope": "crm,placement,task,im,user_brief", "status": portal.plan_status,
            "install": {"member_id": portal.member_id, "domain": portal.domain, "installed": portal.install_finished,
                        "user_id": held.user_id}}})

    # --- portal REST (contract §3) ---------------------------------------------------------------------
    def rest_call(self, host: str, method: str, params: dict, access: str | None) -> Answer:
        started = time.monotonic()
        renamed = self._renamed_from(host)
        if renamed is not None:
            return Answer(302, {}, {"Location": f"http://{renamed.domain}/rest/{method}.json"})
        fault = self.fault_take(method)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.delay_seconds)
            fault = None
        try:
            held = self.token(access or "")
            portal = self.portal(held.member_id)
            if fault is not None and fault.kind == "expired_token":
                raise RestError(401, "expired_token", "The access token provided has expired.")
            if not self.bucket_admit(portal):
                raise RestError(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")
            with self.lock:
                self.counters["rest_requests"] += 1
            reset_at = self.operation_charge(portal.member_id, method)
            if reset_at is not None:
                return Answer(429, {"error": "OPERATION_TIME_LIMIT", "error_description": "Method is blocked due "
                                    "to operation time limit.", "time": self._time(started)
                                    | {"operating_reset_at": int(reset_at)}})
            if fault is not None:
                if fault.kind == "query_limit":
                    raise RestError(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")
                if fault.kind == "operation_limit":
                    raise RestError(429, "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.")
                if fault.kind == "overload":
                    raise RestError(503, "OVERLOAD_LIMIT", "REST API is blocked due to overload.")
                raise RestError(fault.status, "INTERNAL_SERVER_ERROR", "Internal server error")
            if method == "batch":
                result = rest.batch(self, portal, held.user_id, params)
                body = {"result": result}
            else:
                answer = rest.run(self, portal, held.user_id, method, params)
                body = {"result": answer.rows if isinstance(answer, rest.Listed) else answer}
                if isinstance(answer, rest.Listed):
                    if answer.total is not None:
                        body["total"] = answer.total
                    if answer.next_start is not None:
                        body["next"] = answer.next_start
        except RestError as error:
            body = {"error": error.code, "error_description": error.description}
            if error.code == "OPERATION_TIME_LIMIT":
                body["time"] = self._time(started) | {"operating_reset_at": int(self.now()) + 30}
            return Answer(error.status, body)
        body["time"] = self._time(started)
        return Answer(200, body)

    def _time(self, started: float) -> dict:
        now, spent = self.now(), time.monotonic() - started
        return {"start": now - spent, "finish": now, "duration": spent, "processing": spent,
                "date_start": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now - spent)),
                "date_finish": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now)),
                "operating": spent, "operating_reset_at": int(now) + 600}

    def _renamed_from(self, host: str) -> Portal | None:
        with self.lock:
            for portal in self.portals.values():
                if host in portal.old_domains and host != portal.domain:
                    return portal
        return None

    def rename(self, member_id: str | None, new_domain: str) -> dict:
        portal = self.portal(member_id)
        with self.lock:
            if portal.domain != new_domain:
                portal.old_domains.append(portal.domain)
                portal.domain = new_domain
            return {"member_id": portal.member_id, "domain": portal.domain, "old_domains": portal.old_domains}

    # --- install, uninstall, frames (contract §8.5–8.7) ---------------------------------------------------
    def install(self, *, install_url: str, member_id: str | None = None, api_only: bool = False,
                user_id: int = ADMIN_USER_ID, finish: bool = True) -> dict:
        """The admin adds the app: Bitrix24 POSTs the installer frame (or ONAPPINSTALL) to our install URL."""
        if not loopback_url(install_url):
            raise ValueError("install_url must be a loopback URL")
        portal = self.portal(member_id)
        with self.lock:
            portal.app_installed, portal.install_finished = True, False
            portal.application_token = self.new_application_token()
            portal.install_url = install_url
        access, refresh = self.issue_pair(portal.member_id, user_id)
        if api_only:
            form = self._auth_form(portal, access=access, refresh=refresh, user_id=user_id)
            answer = self._post(install_url, {"event": "ONAPPINSTALL", "event_handler_id": "0",
                                              "data[VERSION]": "1", "data[ACTIVE]": "Y", "data[INSTALLED]": "Y",
                                              "data[LANGUAGE_ID]": "ru", "ts": str(int(self.now())), **form},
                                kind="install")
            finish = True  # API-only apps never call installFinish
        else:
            answer = self._post(self._frame_url(install_url, portal),
                                self._frame_form(portal, access, refresh, "DEFAULT", {}), kind="install")
        if finish and answer["status"] == 200:
            self.install_finish(portal.member_id)
        return {**answer, "member_id": portal.member_id, "application_token": portal.application_token,
                "access_token": access, "refresh_token": refresh}

    def install_finish(self, member_id: str | None = None) -> dict:
        """Stands in for BX24.installFinish()."""
        portal = self.portal(member_id)
        with self.lock:
            if not portal.app_installed:
                raise ValueError("the app is not added to this portal")
            portal.install_finished = True
        return {"installed": True}

    def uninstall(self, member_id: str | None = None, *, clean: bool = False) -> dict:
        """The admin removes the app: ONAPPUNINSTALL (no tokens) goes to its handlers, then tokens,
        placements and event bindings are gone."""
        portal = self.portal(member_id)
        data = {"data[LANGUAGE_ID]": "ru", "data[CLEAN]": "1" if clean else "0"}
        sent = self._emit_to(portal, "ONAPPUNINSTALL", data, with_tokens=False)
        self.flush_events(timeout=5)
        with self.lock:
            portal.app_installed = portal.install_finished = False
            portal.placements, portal.events = [], []
        self.drop_portal_tokens(portal.member_id)
        return {"uninstalled": True, "events_sent": sent}

    def open_frame(self, *, member_id: str | None = None, deal_id: int | None = None,
                   placement: str = "CRM_DEAL_DETAIL_TAB", user_id: int = MANAGER_USER_ID,
                   overrides: dict | None = None) -> list[dict]:
        """A user opens the deal card: each handler bound to `placement` gets the frame POST."""
        portal = self.portal(member_id)
        access, refresh = self.issue_pair(portal.member_id, user_id)
        options = {"ID": str(deal_id)} if deal_id is not None else {}
        answers = []
        for row in [row for row in portal.placements if row["placement"] == placement]:
            if not portal.install_finished:
                break
            form = self._frame_form(portal, access, refresh, placement, options) | (overrides or {})
            answers.append(self._post(self._frame_url(row["handler"], portal), form, kind="frame"))
        return answers

    def frame_post(self, *, handler: str, member_id: str | None = None, user_id: int = MANAGER_USER_ID,
                   deal_id: int | None = None, overrides: dict | None = None, query: dict | None = None) -> dict:
        """A frame POST to any loopback URL (for forged/foreign tests): a fresh token of the portal's user;
        `overrides` replace body fields, `query` the query string's (DOMAIN, LANG...)."""
        if not loopback_url(handler):
            raise ValueError("handler must be a loopback URL")
        portal = self.portal(member_id)
        access, refresh = self.issue_pair(portal.member_id, user_id)
        form = self._frame_form(portal, access, refresh, "CRM_DEAL_DETAIL_TAB",
                                {"ID": str(deal_id)} if deal_id is not None else {}) | (overrides or {})
        return self._post(self._frame_url(handler, portal, query), form, kind="frame")

    def _frame_url(self, url: str, portal: Portal, overrides: dict | None = None) -> str:
        query = urlencode({"DOMAIN": portal.domain, "PROTOCOL": "0", "LANG": "ru",
                           "APP_SID": secrets.token_hex(16)} | (overrides or {}))
        return f"{url}{'&' if '?' in url else '?'}{query}"

    def _frame_form(self, portal: Portal, access: str, refresh: str, placement: str, options: dict) -> dict:
        return {"AUTH_ID": access, "AUTH_EXPIRES": "3600", "REFRESH_ID": refresh,
                "SERVER_ENDPOINT": f"{self.oauth_url}/rest/", "APPLICATION_TOKEN": portal.application_token,
                "APPLICATION_SCOPE": "crm,placement,task,im,user_brief", "member_id": portal.member_id,
                "status": portal.plan_status, "PLACEMENT": placement,
                "PLACEMENT_OPTIONS": json.dumps(options)}

    def _auth_form(self, portal: Portal, *, access: str | None, refresh: str | None, user_id: int | None,
                   token: str | None = None) -> dict:
        form = {"auth[domain]": portal.domain, "auth[client_endpoint]": f"http://{portal.domain}/rest/",
                "auth[server_endpoint]": f"{self.oauth_url}/rest/", "auth[member_id]": portal.member_id,
                "auth[application_token]": token or portal.application_token, "auth[status]": portal.plan_status,
                "auth[scope]": "crm,placement,task,im,user_brief"}
        if access:
            form |= {"auth[access_token]": access, "auth[expires_in]": "3600", "auth[expires]":
                     str(int(self.now()) + 3600), "auth[user_id]": str(user_id or "")}
        if refresh:
            form["auth[refresh_token]"] = refresh
        return form

    def _post(self, url: str, form: dict, *, kind: str) -> dict:
        try:
            response = requests.post(url, data=form, timeout=30, allow_redirects=False)
            answer = {"url": url.split("?")[0], "status": response.status_code, "body": response.text[:4000]}
        except requests.RequestException as error:
            answer = {"url": url.split("?")[0], "status": None, "body": "", "error": type(error).__name__}
        self.journal.add(direction="out", kind=kind, url=answer["url"], status=answer["status"],
                         form={key: value for key, value in form.items() if "token" not in key.lower()
                               and key not in ("AUTH_ID", "REFRESH_ID")}, time=self.now())
        return answer

    # --- events (contract §6) ------------------------------------------------------------------------------
    def emit(self, portal: Portal, event: str, deal_id: int, user_id: int | None) -> int:
        return self._emit_to(portal, event, {"data[FIELDS][ID]": str(deal_id)}, with_tokens=True, user_id=user_id)

    def _emit_to(self, portal: Portal, event: str, data: dict, *, with_tokens: bool, user_id: int | None = None) -> int:
        if not portal.install_finished:
            return 0  # events come only after the install is finished
        switches = dict(self.event_switches)
        count = 0
        for row in [row for row in portal.events if row["event"] == event]:
            access = None
            if with_tokens and not switches["robot"] and user_id is not None:
                access, _ = self.issue_pair(portal.member_id, user_id)
            token = "wrongapplicationtoken0000000000" if switches["wrong_token"] else None
            form = {"event": event, "event_handler_id": str(row["id"]), **data, "ts": str(int(self.now())),
                    **self._auth_form(portal, access=access, refresh=None, user_id=user_id, token=token)}
            for _ in range(2 if switches["duplicate"] else 1):
                self._deliveries.put({"url": row["handler"], "form": form, "delay": switches["delay_seconds"],
                                      "hold": switches["reorder"]})
                count += 1
        return count

    def _deliver_loop(self) -> None:
        while True:
            item = self._deliveries.get()
            try:
                if item is None:
                    return
                if item["hold"]:
                    with self.lock:
                        self._held.append(item)
                    continue
                if item["delay"]:
                    time.sleep(item["delay"])
                if loopback_url(item["url"]):
                    answer = self._post(item["url"], item["form"], kind="event")
                else:
                    answer = {"url": item["url"], "status": None, "error": "not a loopback handler"}
                with self.lock:
                    self.delivered.append({"event": item["form"]["event"], **answer,
                                           "deal_id": item["form"].get("data[FIELDS][ID]")})
            finally:
                self._deliveries.task_done()

    def release_held(self) -> int:
        """Deliver the deliveries the reorder switch held back, newest first."""
        with self.lock:
            held, self._held = self._held[::-1], []
        for item in held:
            self._deliveries.put({**item, "hold": False})
        return len(held)

    def flush_events(self, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while self._deliveries.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        with self.lock:
            return list(self.delivered)

    def close(self) -> None:
        self._deliveries.put(None)
