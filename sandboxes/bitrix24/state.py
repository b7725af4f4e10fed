"""The sandbox's world: one OAuth app, portals with tokens, CRM data, bindings, the leaky bucket, faults
and a journal. Ids and tokens are deterministic (counters), so tests can name them."""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

ACCESS_TTL = 3600
CODE_TTL = 30
DEFAULT_MEMBER_ID = "b24sandbox0000000000000000000001"
SECOND_MEMBER_ID = "b24sandbox0000000000000000000002"
ADMIN_USER_ID = 1
MANAGER_USER_ID = 7

STAGES = {
    "0": [("NEW", "Новая", None), ("PREPARATION", "Подготовка", None), ("EXECUTING", "В работе", None),
          ("WON", "Сделка успешна", "S"), ("LOSE", "Сделка провалена", "F")],
    "1": [("C1:NEW", "Консультация", None), ("C1:UC_PAYING", "Платит в рассрочку", None),
          ("C1:WON", "Оплачено", "S"), ("C1:LOSE", "Отказ", "F")],
}
CATEGORIES = {"0": "Общая", "1": "Юридические услуги"}


class RestError(Exception):
    """An answer of Bitrix24's shape: HTTP status, `error` code (may be '') and description."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(f"{status} {code} {description}")
        self.status, self.code, self.description = status, code, description


@dataclass
class Portal:
    member_id: str
    domain: str
    app_installed: bool = False  # the admin added the app
    install_finished: bool = False  # BX24.installFinish() (or API-only): events and placements work
    application_token: str = ""
    install_url: str = ""
    old_domains: list[str] = field(default_factory=list)
    plan_status: str = "P"
    deals: dict[int, dict] = field(default_factory=dict)
    contacts: dict[int, dict] = field(default_factory=dict)
    userfields: list[dict] = field(default_factory=list)
    comments: dict[int, dict] = field(default_factory=dict)
    todos: dict[int, dict] = field(default_factory=dict)
    tasks: dict[int, dict] = field(default_factory=dict)
    notifications: list[dict] = field(default_factory=list)
    placements: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    bucket_level: float = 0.0
    bucket_at: float = 0.0


@dataclass
class Token:
    member_id: str
    user_id: int
    expires_at: float


@dataclass
class Fault:
    kind: str  # "expired_token", "query_limit", "operation_limit", "status", "delay", "overload"
    method_prefix: str
    status: int = 500
    delay_seconds: float = 0.0


class Journal:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: list[dict] = []

    def add(self, **entry) -> None:
        with self._lock:
            self.entries.append(entry)

    def list(self) -> list[dict]:
        with self._lock:
            return list(self.entries)

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()


class State:
    """Everything behind one lock (`self.lock`): requests are served on many threads."""

    def __init__(self, *, client_id: str, client_secret: str, bucket_capacity: float = 50, bucket_drain: float = 2,
                 webhook_secret: str = "sandboxwebhooksecret") -> None:  # noqa: S107 (a fake)
        self.lock = threading.RLock()
        self.client_id, self.client_secret = client_id, client_secret
        self.webhook_secret = webhook_secret
        self.bucket_capacity, self.bucket_drain = float(bucket_capacity), float(bucket_drain)
        self.clock_offset = 0.0
        # Per-method execution-time budget over a rolling 10 minutes (cloud: 480 s); None = off. Each call
        # is charged `method_cost` seconds (the sandbox's own calls take no real time worth counting).
        self.operation_budget: float | None = None
        self.method_cost = 0.0
        self.operation_spent: dict[tuple[str, str], list[tuple[float, float]]] = {}
        self.counters = {"id": 100, "token": 0, "app_token": 0, "refreshes": 0, "refresh_reuse": 0,
                         "limit_exceeded": 0, "rest_requests": 0, "max_bucket_level": 0.0}
        self.portals: dict[str, Portal] = {}
        self.smart_types: list[dict] = []
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, Token] = {}
        self.used_refresh_tokens: set[str] = set()
        self.codes: dict[str, tuple[Token, float]] = {}
        self.faults: list[Fault] = []
        self.payment_required = False
        self.journal = Journal()
        self.event_switches = {"robot": False, "wrong_token": False, "duplicate": False, "delay_seconds": 0.0,
                               "reorder": False}

    # --- clock and ids ------------------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.clock_offset

    def next_id(self) -> int:
        with self.lock:
            self.counters["id"] += 1
            return self.counters["id"]

    # --- tokens -------------------------------------------------------------------------------------
    def issue_pair(self, member_id: str, user_id: int) -> tuple[str, str]:
        with self.lock:
            self.counters["token"] += 1
            number = self.counters["token"]
            access, refresh = f"access{number:06d}{member_id[-6:]}", f"refresh{number:06d}{member_id[-6:]}"
            self.tokens[access] = Token(member_id, user_id, self.now() + ACCESS_TTL)
            self.refresh_tokens[refresh] = Token(member_id, user_id, self.now() + 180 * 86400)
            return access, refresh

    def use_refresh(self, refresh: str) -> Token:
        """Single use: the refresh token and every access token of its portal and user issued before die."""
        with self.lock:
            token = self.refresh_tokens.pop(refresh, None)
            if token is None:
                if refresh in self.used_refresh_tokens:
                    self.counters["refresh_reuse"] += 1
                raise RestError(400, "invalid_grant", "Invalid refresh token")
            self.used_refresh_tokens.add(refresh)
            self.counters["refreshes"] += 1
            for access, held in list(self.tokens.items()):
                if held.member_id == token.member_id and held.user_id == token.user_id:
                    del self.tokens[access]
            return token

    def token(self, access: str) -> Token:
        with self.lock:
            held = self.tokens.get(access or "")
            if held is None:
                raise RestError(401, "NO_AUTH_FOUND", "Wrong authorization data")
            if held.expires_at <= self.now():
                raise RestError(401, "expired_token", "The access token provided has expired.")
            portal = self.portals.get(held.member_id)
            if portal is None or not portal.app_installed:
                raise RestError(401, "NO_AUTH_FOUND", "Wrong authorization data")
            return held

    def expire_tokens(self, member_id: str | None = None) -> int:
        with self.lock:
            count = 0
            for held in self.tokens.values():
                if member_id is None or held.member_id == member_id:
                    held.expires_at = min(held.expires_at, self.now() - 1)
                    count += 1
            return count

    def drop_portal_tokens(self, member_id: str) -> None:
        with self.lock:
            for store in (self.tokens, self.refresh_tokens):
                for key in [key for key, held in store.items() if held.member_id == member_id]:
                    del store[key]

    # --- portals ------------------------------------------------------------------------------------
    def portal(self, member_id: str | None = None) -> Portal:
        with self.lock:
            key = member_id or DEFAULT_MEMBER_ID
            if key not in self.portals:
                raise KeyError(f"no portal {key}")
            return self.portals[key]

    def add_portal(self, member_id: str, domain: str) -> Portal:
        with self.lock:
            portal = Portal(member_id, domain)
            seed(self, portal)
            self.portals[member_id] = portal
            return portal

    def new_application_token(self) -> str:
        """Unique per install, as Bitrix24 makes it: a restarted sandbox (fresh portal, no placements) installs
        as a new install, not as a repeat of the one PayPlan stored from its previous run."""
        with self.lock:
            self.counters["app_token"] += 1
            return f"apptoken{self.counters['app_token']:04d}{secrets.token_hex(8)}"

    # --- the leaky bucket ---------------------------------------------------------------------------
    def bucket_admit(self, portal: Portal) -> bool:
        """+1 per request; drains by Y per second; above X → QUERY_LIMIT_EXCEEDED (not counted)."""
        with self.lock:
            now = time.monotonic()
            level = max(0.0, portal.bucket_level - (now - (portal.bucket_at or now)) * self.bucket_drain)
            portal.bucket_at = now
            if level + 1 > self.bucket_capacity:
                portal.bucket_level = level
                self.counters["limit_exceeded"] += 1
                return False
            portal.bucket_level = level + 1
            self.counters["max_bucket_level"] = max(self.counters["max_bucket_level"], portal.bucket_level)
            return True

    def operation_charge(self, member_id: str, method: str) -> float | None:
        """Charge one call of `method`; the unix time the method is free again when over budget."""
        with self.lock:
            if self.operation_budget is None:
                return None
            now = self.now()
            spent = [(at, cost) for at, cost in self.operation_spent.get((member_id, method), []) if at > now - 600]
            if sum(cost for _, cost in spent) >= self.operation_budget:
                self.operation_spent[(member_id, method)] = spent
                return spent[0][0] + 600
            spent.append((now, self.method_cost))
            self.operation_spent[(member_id, method)] = spent
            return None

    # --- faults -------------------------------------------------------------------------------------
    def fault_add(self, spec: dict) -> int:
        kind = spec.get("kind")
        if kind not in ("expired_token", "query_limit", "operation_limit", "status", "delay", "overload"):
            raise ValueError("kind: expired_token, query_limit, operation_limit, status, delay or overload")
        count = spec.get("next", 1)
        if not isinstance(count, int) or not 1 <= count <= 1000:
            raise ValueError("next must be 1..1000")
        status = int(spec.get("status", 500))
        if kind == "status" and status not in (500, 502, 503, 504):
            raise ValueError("status must be 500, 502, 503 or 504")
        delay = float(spec.get("delay_seconds", 0))
        if not 0 <= delay <= 30:
            raise ValueError("delay_seconds must be 0..30")
        with self.lock:
            self.faults.extend([Fault(kind, str(spec.get("method", "")), status, delay)] * count)
            return len(self.faults)

    def fault_take(self, method: str) -> Fault | None:
        with self.lock:
            for index, fault in enumerate(self.faults):
                if method.startswith(fault.method_prefix):
                    return self.faults.pop(index)
            return None


def seed(state: State, portal: Portal) -> None:
    """Two pipelines, two contacts and three deals per portal: deal ids 8061.. in the first portal."""
    base = 8061 if not state.portals else 9061
    portal.contacts = {
        501: {"ID": "501", "NAME": "Ирина", "LAST_NAME": "Соколова", "PHONE": [{"VALUE": "+79160000001",
                                                                             "VALUE_TYPE": "WORK"}],
              "EMAIL": [{"VALUE": "sokolova@example.ru", "VALUE_TYPE": "WORK"}]},
        502: {"ID": "502", "NAME": "Олег", "LAST_NAME": "Петров", "PHONE": [], "EMAIL": []},
    }
    for offset, (title, category, stage, amount, contact) in enumerate([
            ("Банкротство физлица: Соколова", "1", "C1:UC_PAYING", "160000.00", "501"),
            ("Сопровождение сделки: Петров", "0", "EXECUTING", "90000.00", "502"),
            ("Консультация", "0", "NEW", "5000.00", "")]):
        deal_id = base + offset
        portal.deals[deal_id] = deal_row(deal_id, title, category, stage, amount, contact, state.now())


def deal_row(deal_id: int, title: str, category: str, stage: str, amount: str, contact: str, now: float) -> dict:
    return {"ID": str(deal_id), "TITLE": title, "CATEGORY_ID": category, "STAGE_ID": stage,
            "STAGE_SEMANTIC_ID": stage_semantics(category, stage), "CLOSED": "N", "OPPORTUNITY": amount,
            "CURRENCY_ID": "RUB", "IS_MANUAL_OPPORTUNITY": "Y", "ASSIGNED_BY_ID": str(MANAGER_USER_ID),
            "CONTACT_ID": contact or None, "CONTACT_IDS": [contact] if contact else [], "COMPANY_ID": "0",
            "DATE_CREATE": iso(now), "DATE_MODIFY": iso(now)}


def stage_semantics(category: str, stage: str) -> str:
    for code, _, semantics in STAGES.get(category, []):
        if code == stage:
            return semantics or "P"
    return "P"


def iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+03:00", time.gmtime(moment + 3 * 3600))
