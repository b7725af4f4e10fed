"""The REST client of one portal (contract §3): paced by the portal's shared leaky bucket, backing off
on QUERY_LIMIT_EXCEEDED, one refresh-and-retry on an expired token, following a renamed portal's 302,
batches of at most 50 commands, typed errors. It knows HTTP and Bitrix24's answers, not PayPlan's data."""
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import requests
from django.utils import timezone
from requests.adapters import HTTPAdapter

from billing.transactions import assert_no_transaction
from crm.bitrix24 import conf, oauth
from crm.bitrix24.errors import (
    Blocked,
    NotSent,
    PortalUninstalled,
    RateLimited,
    ReinstallNeeded,
    Rejected,
    Transient,
)
from crm.bitrix24.models import Portal
from crm.bitrix24.portals import portal_domain_change, portal_status_set
from crm.bitrix24.ratelimit import BucketWait, LeakyBucket, portal_bucket

logger = logging.getLogger(__name__)

BATCH_LIMIT = 50
MAX_REDIRECTS = 2
AUTH_ERRORS = {"expired_token", "invalid_token", "NO_AUTH_FOUND"}
READ_PREFIXES = ("get", "list", "fields", "info", "current")
LIMIT_BACKOFF_FIRST_SECONDS = 0.5
LIMIT_BACKOFF_MAX_SECONDS = 8.0
OPERATION_LIMIT_DEFAULT_SECONDS = 60.0
BLOCK_PAUSE_SECONDS = 600.0

_sessions: dict[str, requests.Session] = {}
_sessions_lock = threading.Lock()


def portal_session(member_id: str) -> requests.Session:
    """One pooled session per portal and process."""
    with _sessions_lock:
        session = _sessions.get(member_id)
        if session is None:
            session = requests.Session()
            session.headers.update({"User-Agent": oauth.USER_AGENT, "Accept": "application/json"})
            session.mount("https://", HTTPAdapter(pool_maxsize=8))
            session.mount("http://", HTTPAdapter(pool_maxsize=8))
            _sessions[member_id] = session
        return session


@dataclass
class BatchResult:
    """Per-command results and errors of a batch (a batch answers 200 even when parts fail)."""

    results: dict[str, object] = field(default_factory=dict)
    errors: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (code, description)
    totals: dict[str, int] = field(default_factory=dict)


def query_encode(params: dict, prefix: str = "") -> str:
    """PHP's http_build_query: nested dicts and lists as `fields[TITLE]=…`, `ids[0]=…` (batch commands)."""
    parts: list[str] = []
    for name, value in params.items():
        full = f"{prefix}[{name}]" if prefix else str(name)
        if isinstance(value, dict):
            parts.append(query_encode(value, full))
        elif isinstance(value, list | tuple):
            parts.append(query_encode(dict(enumerate(value)), full))
        elif value is not None:
            text = ("Y" if value else "N") if isinstance(value, bool) else str(value)
            parts.append(f"{quote(full, safe='[]')}={quote(text, safe='')}")
    return "&".join(part for part in parts if part)


class Bitrix24Client:
    def __init__(self, portal: Portal, *, bucket: LeakyBucket | None = None, max_wait: float | None = None) -> None:
        self.portal = portal
        self.bucket = bucket or portal_bucket()
        self.max_wait = float(conf.get("BITRIX24_MAX_WAIT_SECONDS") if max_wait is None else max_wait)
        self.session = portal_session(portal.member_id)
        self.requests_sent = 0
        self.limit_answers = 0  # QUERY_LIMIT_EXCEEDED answers absorbed by backing off

    @classmethod
    def for_member(cls, member_id: str, **options) -> "Bitrix24Client":
        portal = Portal.objects.filter(member_id=member_id).first()
        if portal is None:
            raise ReinstallNeeded("PayPlan is not installed in this Bitrix24 portal.")
        return cls(portal, **options)

    # --- verbs ------------------------------------------------------------------------------------------
    def call(self, method: str, params: dict | None = None) -> object:
        """One REST method; its `result`."""
        return self.call_envelope(method, params).get("result")

    def call_envelope(self, method: str, params: dict | None = None) -> dict:
        """One REST method; the whole answer (`result`, `total`, `next`, `time`)."""
        return self._request(method, dict(params or {}), writes=not _is_read(method))

    def batch(self, commands: dict[str, tuple[str, dict]], *, halt: bool = False) -> BatchResult:
        """Run `{key: (method, params)}` in batches of at most 50 commands (each batch is one request for
        the rate limit). With `halt`, stops at the first failing command (and sends no later batch)."""
        outcome = BatchResult()
        items = list(commands.items())
        for start in range(0, len(items), BATCH_LIMIT):
            chunk = items[start:start + BATCH_LIMIT]
            cmd = {key: f"{method}?{query_encode(params)}" if params else method for key, (method, params) in chunk}
            writes = any(not _is_read(method) for _, (method, _) in chunk)
            answer = self._request("batch", {"halt": 1 if halt else 0, "cmd": cmd}, writes=writes)
            result = answer.get("result") if isinstance(answer.get("result"), dict) else {}
            outcome.results.update(_as_dict(result.get("result")))
            outcome.totals.update({key: int(value) for key, value in _as_dict(result.get("result_total")).items()
                                   if str(value).isdigit()})
            for key, error in _as_dict(result.get("result_error")).items():
                error = error if isinstance(error, dict) else {"error_description": str(error)}
                outcome.errors[str(key)] = (str(error.get("error") or ""), str(error.get("error_description") or ""))
            if halt and outcome.errors:
                break
        return outcome

    # --- internals ------------------------------------------------------------------------------------
    def _request(self, method: str, body: dict, *, writes: bool) -> dict:
        self._require_installed()
        if self.portal.expires_at is not None and self.portal.expires_at <= timezone.now():
            self._refresh()
        refreshed = False
        redirects = 0
        limit_round = 0
        deadline = time.monotonic() + self.max_wait
        while True:
            response = self._send(method, body, writes=writes, deadline=deadline)
            status = response.status_code
            answer = _json(response)
            error = str(answer.get("error") or "")
            if status in (301, 302, 307, 308) and response.headers.get("Location") and redirects < MAX_REDIRECTS:
                redirects += 1
                self._follow_rename(response.headers["Location"])
                continue
            if status == 401 and (error in AUTH_ERRORS or not error):
                if refreshed:
                    reason = f"Bitrix24 refuses a fresh token ({error or status}); open PayPlan in the portal again."
                    portal_status_set(portal_id=self.portal.pk, status=Portal.Status.NEEDS_REINSTALL,
                                      reason=reason, token_version=self.portal.token_version)
                    raise ReinstallNeeded(reason, status=401, code=error)
                self._refresh()
                refreshed = True
                continue
            if status == 503 and error == "QUERY_LIMIT_EXCEEDED":
                self.limit_answers += 1
                pause = min(LIMIT_BACKOFF_MAX_SECONDS, LIMIT_BACKOFF_FIRST_SECONDS * 2 ** limit_round)
                pause *= 1 + secrets.randbelow(500) / 1000  # jitter: workers do not come back in step
                limit_round += 1
                self.bucket.overflowed(self.portal.member_id, pause)
                if time.monotonic() + pause > deadline:
                    raise RateLimited(f"{method}: 503 QUERY_LIMIT_EXCEEDED", status=503, code=error,
                                      retry_after=pause)
                continue
            return self._answer(method, response, answer, error, writes=writes)

    def _require_installed(self) -> None:
        if self.portal.is_installed:
            return
        reason = self.portal.status_reason or f"The Bitrix24 portal is {self.portal.status}."
        if self.portal.status == Portal.Status.UNINSTALLED:
            raise PortalUninstalled(reason)
        raise ReinstallNeeded(reason)

    def _refresh(self) -> None:
        self.portal = oauth.portal_refresh(portal_id=self.portal.pk, seen_version=self.portal.token_version,
                                           max_wait=self.max_wait)

    def _follow_rename(self, location: str) -> None:
        host = oauth.host_normalize(location)
        try:
            origin = oauth.portal_origin(host)
        except Exception as exc:
            raise Rejected(f"the portal redirects to {host or location[:80]!r}, not a Bitrix24 portal") from exc
        logger.info("Bitrix24 portal %s moved from %s to %s", self.portal.member_id, self.portal.domain, host)
        self.portal = portal_domain_change(portal_id=self.portal.pk, domain=urlsplit(origin).netloc,
                                           client_endpoint=f"{origin}/rest/")

    def _send(self, method: str, body: dict, *, writes: bool, deadline: float) -> requests.Response:
        assert_no_transaction()
        try:
            self.bucket.acquire(self.portal.member_id, max_wait=max(0.0, deadline - time.monotonic()))
        except BucketWait as exc:
            raise NotSent(str(exc), retry_after=exc.wait_seconds) from exc
        url = f"{self.portal.client_endpoint.rstrip('/')}/{method}.json"
        self.requests_sent += 1
        try:
            return self.session.post(url, json={**body, "auth": self.portal.access_token},
                                     timeout=oauth.timeouts(), allow_redirects=False)
        except requests.ConnectTimeout as exc:
            raise Transient(f"{method}: connect timeout") from exc
        except requests.RequestException as exc:
            raise Transient(f"{method}: {type(exc).__name__}", maybe_applied=writes) from exc

    def _answer(self, method: str, response: requests.Response, answer: dict, error: str, *, writes: bool) -> dict:
        status = response.status_code
        if status == 200 and "result" in answer and not error:
            return answer
        description = str(answer.get("error_description") or "")[:300]
        message = f"{method}: {status} {error or '-'} {description}".strip()
        if status == 200:
            raise Transient(f"{method}: 200 without a result", status=200, maybe_applied=writes)
        logger.warning("Bitrix24 portal %s: %s", self.portal.member_id, message)
        if status == 429 or error == "OPERATION_TIME_LIMIT":
            reset_at = _as_dict(answer.get("time")).get("operating_reset_at")
            wait = _seconds_until(reset_at) or OPERATION_LIMIT_DEFAULT_SECONDS
            raise RateLimited(message, status=status, code=error, retry_after=wait)
        if error == "OVERLOAD_LIMIT":
            self.bucket.overflowed(self.portal.member_id, BLOCK_PAUSE_SECONDS)
            raise Blocked(message, status=status, code=error, pause_seconds=BLOCK_PAUSE_SECONDS)
        if error == "PORTAL_DELETED":
            raise ReinstallNeeded(message, status=status, code=error)
        if error == "PAYMENT_REQUIRED" or status == 402:
            raise Blocked(message, status=status, code=error, pause_seconds=3600)
        if status >= 500:
            raise Transient(message, status=status, code=error, maybe_applied=writes)
        raise Rejected(message, status=status, code=error)


def _is_read(method: str) -> bool:
    last = method.rsplit(".", 1)[-1]
    return last.startswith(READ_PREFIXES)


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _as_dict(value) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, list):  # PHP turns an empty or 0-keyed map into a list
        return {str(index): item for index, item in enumerate(value)}
    return {}


def _seconds_until(unix_ts) -> float | None:
    try:
        return max(1.0, min(600.0, float(unix_ts) - time.time()))
    except (TypeError, ValueError):
        return None
