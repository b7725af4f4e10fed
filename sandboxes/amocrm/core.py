"""Sandbox state and the operations tests drive directly: seeding, codes, tokens, status moves, hooks."""

from __future__ import annotations

import copy
import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from .faults import FaultPlan
from .http_io import with_query
from .journal import Journal, JournalEntry
from .lead_patch import lead_patch_apply, lead_patch_parse
from .limiter import RateLimiter
from .models import Account, Contact, CustomField, Lead, User
from .oauth import OAuthServer
from .outbound import Delivery, is_loopback_url, send
from .seed import demo_account
from .webhooks import LeadChange, WebhookEmitter, webhook_bodies
from .widget_token import WIDGET_TOKEN_TTL_SECONDS, widget_token_encode

DEFAULT_CLIENT_ID = "00000000-0000-4000-8000-000000000001"
DEFAULT_CLIENT_SECRET = "payplan-local-amocrm-client-secret"
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8000/amocrm/oauth/callback"
HOOK_TIMEOUT_SECONDS = 3.0  # amoCRM waits at most 3 s for the install hook and ignores the answer


class SandboxCore:
    def __init__(self, client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET,
                 redirect_uri: str = DEFAULT_REDIRECT_URI, *, accounts: Iterable[Account] | None = None,
                 clock: Callable[[], float] = time.time, rate_limit_rps: int | None = 7, block_after: int = 20,
                 audience: str | None = None, revoke_hook_url: str | None = None,
                 revoke_access_on_refresh: bool = True):
        """`accounts=None` seeds the demo account; pass `[]` for an empty sandbox."""
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        parts = urlsplit(redirect_uri)
        # The widget token's `aud` is scheme://host of the redirect_uri.
        self.audience = audience or f"{parts.scheme}://{parts.netloc}"
        self.revoke_hook_url = revoke_hook_url
        self.clock = clock
        self.lock = threading.RLock()  # guards accounts and OAuth state across server threads
        self.accounts = {account.id: account for account in ([demo_account()] if accounts is None else accounts)}
        self.remember_seed()
        self.oauth = OAuthServer(client_id, client_secret, redirect_uri, clock,
                                 revoke_access_on_refresh=revoke_access_on_refresh)
        self.limiter = RateLimiter(rate_limit_rps, block_after)
        self.faults = FaultPlan()
        self._journal = Journal()
        self.emitter = WebhookEmitter(HOOK_TIMEOUT_SECONDS)
        self.host = "127.0.0.1:0"  # host:port once the server listens; also the account `referer`
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def journal(self) -> list[JournalEntry]:
        return self._journal.entries()

    def now(self) -> int:
        return int(self.clock())

    # --- seeding ------------------------------------------------------------------------------------
    def add_account(self, account: Account) -> Account:
        with self.lock:
            self.accounts[account.id] = account
            return account

    def account(self, account_id: int | None = None) -> Account:
        """The account by id, or the only/first one when no id is given."""
        with self.lock:
            if account_id is None:
                return next(iter(self.accounts.values()))
            if account_id not in self.accounts:
                raise KeyError(f"no account {account_id} in the sandbox")
            return self.accounts[account_id]

    def seed_user(self, account_id: int, user_id: int, name: str, **options: object) -> User:
        with self.lock:
            return self.account(account_id).add_user(user_id, name, **options)

    def seed_custom_field(self, account_id: int, field_id: int, name: str, field_type: str,
                          **options: object) -> CustomField:
        with self.lock:
            return self.account(account_id).add_lead_field(field_id, name, field_type, **options)

    def seed_contact(self, account_id: int, name: str, **options: object) -> Contact:
        with self.lock:
            return self.account(account_id).add_contact(name, **options)

    def seed_lead(self, account_id: int, name: str, **options: object) -> Lead:
        with self.lock:
            return self.account(account_id).add_lead(name, **options)

    def remember_seed(self) -> None:
        """Make the current data what `reset(data=True)` goes back to."""
        with self.lock:
            self._accounts_at_start = copy.deepcopy(self.accounts)

    # --- OAuth and tokens ---------------------------------------------------------------------------
    def issue_code(self, account_id: int | None = None, user_id: int | None = None) -> str:
        """A single-use authorization code (20 min), as amoCRM hands to the redirect_uri."""
        with self.lock:
            account = self.account(account_id)
            return self.oauth.issue_code(account.id, user_id or account.first_admin_id)

    def issue_long_lived_token(self, account_id: int | None = None, *, expires_in: int = 365 * 86400,
                               user_id: int | None = None) -> str:
        with self.lock:
            account = self.account(account_id)
            return self.oauth.issue_long_lived(account.id, user_id or account.first_admin_id, expires_in,
                                               self.host)

    def mint_widget_token(self, account_id: int, user_id: int, *, exp_in: int = WIDGET_TOKEN_TTL_SECONDS,
                          aud: str | None = None, iss: str | None = None, is_admin: bool = False,
                          secret: str | None = None, subdomain: str | None = None) -> str:
        """The widget's disposable JWT; an unknown account_id needs `subdomain` or gets `account<id>`."""
        with self.lock:
            known = self.accounts.get(account_id)
        return widget_token_encode(
            secret=secret or self.client_secret, client_id=self.client_id, account_id=account_id,
            subdomain=subdomain or (known.subdomain if known else f"account{account_id}"), user_id=user_id,
            aud=aud or self.audience, now=self.now(), exp_in=exp_in, iss=iss, is_admin=is_admin)

    # --- lead status and webhooks -------------------------------------------------------------------
    def set_lead_status(self, lead_id: int, status_id: int, pipeline_id: int | None = None, *,
                        user_id: int | None = None) -> Lead:
        """Move a lead as a manager would in the UI; webhooks fire. Raises ValueError on a bad move."""
        with self.lock:
            account = next((a for a in self.accounts.values() if lead_id in a.leads), None)
            if account is None:
                raise KeyError(f"no lead {lead_id} in the sandbox")
            item = {"status_id": status_id} | ({"pipeline_id": pipeline_id} if pipeline_id else {})
            patch, errors = lead_patch_parse(account, item, lead_id)
            if errors:
                raise ValueError(errors)
            change = lead_patch_apply(patch, user_id or account.first_admin_id, self.now())
        self.emit_lead_changes(account, [change])
        return patch.lead

    def create_lead(self, name: str, *, status_id: int | None = None, pipeline_id: int | None = None,
                    price: int = 0, account_id: int | None = None, user_id: int | None = None,
                    **options: object) -> Lead:
        """Make a lead as a manager would in the UI (straight into any stage); the `add_lead` hook fires."""
        with self.lock:
            account = self.account(account_id)
            lead = account.add_lead(name, price=price, pipeline_id=pipeline_id, status_id=status_id,
                                    created_at=self.now(), **options)
            change = LeadChange(lead.id, lead.status_id, lead.pipeline_id, user_id or account.first_admin_id,
                                added=True)
        self.emit_lead_changes(account, [change])
        return lead

    def complete_task(self, task_id: int, *, user_id: int | None = None, result: str = "") -> dict:
        """A user ticks a task done in the UI (the accountant after sending a payout)."""
        with self.lock:
            account = next((a for a in self.accounts.values() if task_id in a.tasks), None)
            if account is None:
                raise KeyError(f"no task {task_id} in the sandbox")
            task = account.tasks[task_id]
            task.is_completed, task.result_text = True, result or task.result_text
            task.updated_by, task.updated_at = user_id or task.responsible_user_id, self.now()
            return {"id": task.id, "is_completed": True, "updated_by": task.updated_by, "updated_at": task.updated_at}

    def emit_lead_changes(self, account: Account, changes: list[LeadChange]) -> None:
        with self.lock:
            bodies = webhook_bodies(account, changes, self.host)
        self.emitter.emit(bodies)

    def flush_webhooks(self, timeout: float = 5.0) -> list[Delivery]:
        """Wait for queued webhooks, then return every delivery attempted so far."""
        self.emitter.flush(timeout)
        return list(self.emitter.deliveries)

    # --- hooks into our backend ---------------------------------------------------------------------
    def simulate_install(self, account_id: int | None = None, user_id: int | None = None) -> dict:
        """GET redirect_uri?code=..&referer=..&from_widget=1 once, as amoCRM does when the widget is installed."""
        if not is_loopback_url(self.redirect_uri):
            raise ValueError("redirect_uri is not a loopback URL; the sandbox calls nothing else")
        code = self.issue_code(account_id, user_id)
        params = {"code": code, "referer": self.host, "from_widget": 1}
        delivery = send("GET", with_query(self.redirect_uri, params), timeout=HOOK_TIMEOUT_SECONDS)
        return {"code": code, "url": delivery.url, "status": delivery.status, "error": delivery.error}

    def simulate_uninstall(self, account_id: int | None = None) -> dict:
        """The account switches the integration off: its tokens die and the revoke hook (if set) is called."""
        with self.lock:
            account = self.account(account_id)
            self.oauth.revoke_account(account.id)
        if not self.revoke_hook_url:
            return {"account_id": account.id, "status": None, "error": "no revoke hook configured"}
        signature = hmac.new(self.client_secret.encode(), f"{self.client_id}|{account.id}".encode(),
                             hashlib.sha256).hexdigest()
        params = {"account_id": account.id, "client_uuid": self.client_id, "signature": signature}
        delivery = send("GET", with_query(self.revoke_hook_url, params), timeout=HOOK_TIMEOUT_SECONDS)
        return {"account_id": account.id, "url": delivery.url, "status": delivery.status,
                "error": delivery.error}

    # --- control ------------------------------------------------------------------------------------
    def record(self, entry: JournalEntry) -> None:
        self._journal.append(entry)

    def reset(self, *, data: bool = False) -> None:
        """Lift a block, drop faults, counters, journal and deliveries; `data=True` also restores the seed."""
        self.limiter.reset()
        self.faults.clear()
        self._journal.clear()
        self.emitter.clear()
        if data:
            with self.lock:
                self.accounts = copy.deepcopy(self._accounts_at_start)

    def counters(self) -> dict:
        return {**self.limiter.counters(), "requests": len(self._journal.entries()),
                "faults_pending": self.faults.pending, "webhook_deliveries": len(self.emitter.deliveries)}

