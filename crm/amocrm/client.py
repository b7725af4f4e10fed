"""The amoCRM REST v4 client of one account: paced by the shared bucket, one refresh-and-retry on 401,
typed errors, HAL pagination. It knows HTTP and amoCRM's answers, nothing of PayPlan's data."""
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta

import requests
from django.utils import timezone
from requests.adapters import HTTPAdapter

from billing.models import Account
from billing.transactions import assert_no_transaction
from crm.amocrm import oauth
from crm.amocrm.connections import crm_connection_status_set
from crm.amocrm.errors import (
    CrmBlocked,
    CrmNotSent,
    CrmRateLimited,
    CrmReinstallNeeded,
    CrmRejected,
    CrmTransient,
)
from crm.amocrm.http import USER_AGENT, problem_message, timeouts
from crm.amocrm.models import CrmConnection
from crm.amocrm.ratelimit import RateLimitWait, TokenBucket, account_bucket

logger = logging.getLogger(__name__)

PAGE_LIMIT = 250
MAX_PAGES = 200  # 50 000 rows: far beyond any list this integration reads; stops a runaway loop
REFRESH_BEFORE_EXPIRY = timedelta(minutes=5)
PAUSE_AFTER_429_SECONDS = 1.0
PAUSE_WHEN_BLOCKED_SECONDS = 600.0
PAUSE_WHEN_UNPAID_SECONDS = 3600.0

_sessions: dict[int, requests.Session] = {}
_sessions_lock = threading.Lock()


def account_session(account_id: int) -> requests.Session:
    """One pooled session per account and process: keep-alive to the account's host across calls."""
    with _sessions_lock:
        session = _sessions.get(account_id)
        if session is None:
            session = requests.Session()
            session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/hal+json, application/json"})
            session.mount("https://", HTTPAdapter(pool_maxsize=8))
            session.mount("http://", HTTPAdapter(pool_maxsize=8))
            _sessions[account_id] = session
        return session


class AmoCrmClient:
    def __init__(self, connection: CrmConnection, *, bucket: TokenBucket | None = None,
                 max_wait: float = 60.0) -> None:
        self.connection = connection
        self.bucket = bucket or account_bucket()
        self.max_wait = max_wait
        self.session = account_session(connection.account_id)

    @classmethod
    def for_account(cls, account: Account | int, **options) -> "AmoCrmClient":
        account_id = account if isinstance(account, int) else account.pk
        connection = CrmConnection.objects.filter(account_id=account_id).first()
        if connection is None:
            raise CrmReinstallNeeded("PayPlan is not installed in this amoCRM account yet.")
        if not connection.is_connected:
            raise CrmReinstallNeeded(connection.status_reason or f"The amoCRM connection is {connection.status}.")
        return cls(connection, **options)

    @property
    def account_id(self) -> int:
        return self.connection.account_id

    # --- verbs --------------------------------------------------------------------------------------
    def get(self, path: str, params: dict | None = None, *, missing_ok: bool = False) -> dict | None:
        """None for amoCRM's 204 (nothing found); with `missing_ok` also for 404."""
        try:
            return self.request("GET", path, params=params)
        except CrmRejected as exc:
            if missing_ok and exc.status == 404:
                return None
            raise

    def post(self, path: str, body: object) -> dict | None:
        return self.request("POST", path, body=body)

    def patch(self, path: str, body: object) -> dict | None:
        return self.request("PATCH", path, body=body)

    def pages(self, path: str, key: str, params: dict | None = None) -> Iterator[dict]:
        """Every row of a HAL list, page by page until there is no `next` link (or a 204)."""
        for page in range(1, MAX_PAGES + 1):
            answer = self.get(path, {**(params or {}), "page": page, "limit": PAGE_LIMIT})
            if not answer:
                return
            yield from (answer.get("_embedded") or {}).get(key) or []
            if not (answer.get("_links") or {}).get("next"):
                return

    def request(self, method: str, path: str, *, params: dict | None = None, body: object = None) -> dict | None:
        if self._expires_soon():
            self.connection = oauth.connection_refresh(account_id=self.account_id,
                                                       seen_version=self.connection.token_version)
        response = self._send(method, path, params, body)
        if response.status_code == 401:
            # amoCRM's contract: refresh once, retry once; a second 401 means the access is gone.
            self.connection = oauth.connection_refresh(account_id=self.account_id,
                                                       seen_version=self.connection.token_version)
            response = self._send(method, path, params, body)
            if response.status_code == 401:
                reason = f"amoCRM refuses fresh tokens ({problem_message(response)}); install the integration again."
                crm_connection_status_set(account_id=self.account_id, status=CrmConnection.Status.NEEDS_REINSTALL,
                                          reason=reason, token_version=self.connection.token_version)
                raise CrmReinstallNeeded(reason, status=401)
        return self._answer(method, path, response)

    # --- internals ----------------------------------------------------------------------------------
    def _expires_soon(self) -> bool:
        expires_at = self.connection.expires_at
        return expires_at is not None and expires_at - timezone.now() < REFRESH_BEFORE_EXPIRY

    def _send(self, method: str, path: str, params: dict | None, body: object) -> requests.Response:
        assert_no_transaction()
        try:
            self.bucket.acquire(str(self.account_id), max_wait=self.max_wait)
        except RateLimitWait as exc:
            raise CrmNotSent(str(exc), retry_after=exc.wait_seconds) from exc
        url = f"{self.connection.base_url}{path}"
        headers = {"Authorization": f"Bearer {self.connection.access_token}"}
        try:
            return self.session.request(method, url, params=params, json=body, headers=headers,
                                        timeout=timeouts(), allow_redirects=False)
        except requests.ConnectTimeout as exc:
            raise CrmTransient(f"{method} {path}: connect timeout") from exc
        except requests.RequestException as exc:
            # The request may have been read and acted on before the connection failed.
            raise CrmTransient(f"{method} {path}: {type(exc).__name__}", maybe_applied=method != "GET") from exc

    def _answer(self, method: str, path: str, response: requests.Response) -> dict | None:
        status = response.status_code
        where = f"{method} {path}"
        if status == 204:
            return None
        if 200 <= status < 300:
            if "json" not in response.headers.get("Content-Type", ""):
                raise CrmTransient(f"{where}: {status} without JSON", status=status, maybe_applied=method != "GET")
            try:
                return response.json()
            except ValueError as exc:
                raise CrmTransient(f"{where}: unreadable JSON", status=status) from exc
        logger.warning("amoCRM %s answered %s (X-Request-Id %s)", where, status,
                       response.headers.get("X-Request-Id", "-"))
        message = f"{where}: {status} {problem_message(response)}"
        if status == 429:
            retry_after = _seconds(response.headers.get("Retry-After")) or PAUSE_AFTER_429_SECONDS
            self.bucket.pause(str(self.account_id), retry_after)
            raise CrmRateLimited(message, status=status, retry_after=retry_after)
        if status >= 500:
            raise CrmTransient(message, status=status, maybe_applied=method != "GET")
        if status == 402:
            self.bucket.pause(str(self.account_id), PAUSE_WHEN_UNPAID_SECONDS)
            raise CrmBlocked(message, status=status, pause_seconds=PAUSE_WHEN_UNPAID_SECONDS)
        if status == 403 and "json" not in response.headers.get("Content-Type", ""):
            # An nginx page, not amoCRM: the IP is blocked; more calls only make the block last longer.
            self.bucket.pause(str(self.account_id), PAUSE_WHEN_BLOCKED_SECONDS)
            logger.error("amoCRM blocked our calls for account %s: %s", self.account_id, message)
            raise CrmBlocked(message, status=status, pause_seconds=PAUSE_WHEN_BLOCKED_SECONDS)
        raise CrmRejected(message, status=status, item_errors=_item_errors(response))


def _seconds(raw: str | None) -> float | None:
    try:
        return max(0.0, min(float(raw), PAUSE_WHEN_BLOCKED_SECONDS)) if raw else None
    except ValueError:
        return None


def _item_errors(response: requests.Response) -> dict[str, str]:
    """amoCRM's `validation-errors`: request_id -> "path: detail; ..." for each refused item."""
    try:
        body = response.json()
    except ValueError:
        return {}
    rows = body.get("validation-errors") if isinstance(body, dict) else None
    found: dict[str, str] = {}
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        details = [f"{error.get('path') or '-'}: {error.get('detail')} ({error.get('code')})"
                   for error in row.get("errors") or [] if isinstance(error, dict)]
        found[str(row.get("request_id", ""))] = "; ".join(details) or "refused"
    return found
