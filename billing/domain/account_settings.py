"""The account's settings as typed sections owned by billing: their JSON shape, defaults and rules.

Pure Python. `settings_read` turns the stored JSON into typed sections (requisites, fiscal receipts,
invoicing, reminders, the CRM mapping) with defaults filled in; `changes_clean` checks what a request
sends key by key and `settings_check` the whole that would result. Both answer with `Problem`s (a field
path and a rule), which the service (billing.services.account_settings) words in Russian; a problem
marked `unsupported` is a setting for something that does not run, refused rather than stored.
"""
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from billing.domain import plan_autostart as autostart
from billing.domain.stages import NotAStageCode, stage_code_check

# The lead fields PayPlan keeps up to date; the account maps each to one of its custom field ids.
FIELD_KEYS = ("total", "received", "debt", "payments_count", "monthly_payment", "last_payment_day", "group",
              "education_direction", "next_payment_date")
# Per-step roles of payout plans (billing.services.payouts.payout_roles): who pays each tranche, who closes the
# claim after the last one (CRM user ids; null: the task user, else the lead's responsible).
ROLE_KEYS = ("accountant_user_id", "claims_specialist_user_id")
# The organisation, its bank, and who signs documents (the director and the chief accountant).
ORGANISATION_KEYS = ("company_name", "inn", "kpp", "ogrn", "address")
BANK_KEYS = ("bank_name", "bik", "bank_account", "correspondent_account")
CONTACT_KEYS = ("email", "phone")
SIGNER_KEYS = ("director", "accountant")
REQUISITE_KEYS = ("company_name", "inn", "kpp", "ogrn", "address", "bank_name", "bik", "bank_account",
                  "correspondent_account", "email", "phone", "director", "accountant")
# The old reminder list (read by billing.dunning when the account saved no ladder of its own).
REMINDER_ACTIONS = ("client_email", "client_reminder", "manager_task", "escalate")
MIN_REMINDER_DAY, MAX_REMINDER_DAY, MAX_REMINDERS = -60, 365, 20
# CloudKassir codes (contracts/cloudpayments.md); a null VAT means "no VAT", which is not 0.
VAT_CODES = (None, 0, 5, 7, 10, 20, 22, 105, 107, 110, 120, 122)
TAXATION_SYSTEMS = (0, 1, 2, 4, 5)
RETIRED_TAXATION_SYSTEMS = (3,)  # ENVD, abolished on 1 January 2021: no cash register issues receipts under it
RECEIPT_METHODS = tuple(range(1, 8))
RECEIPT_OBJECTS = tuple(range(1, 28))
RECEIPT_KEYS = ("enabled", "inn", "taxation_system", "vat", "item_label", "method", "object")
SERVICE_OBJECT, FULL_PAYMENT_METHOD, USN_INCOME = 4, 4, 1
# product / course / custom_field: a lead custom field read from the CRM into Deal.service_name on fetch;
# group / education_direction: the deal's own fields, set by the schedule dialog; fixed: the default text.
CRM_FIELD_SOURCES = ("product", "course", "custom_field")
SERVICE_NAME_SOURCES = (*CRM_FIELD_SOURCES, "group", "education_direction", "fixed")
# The default name is a code read through the catalogue in the account's language (billing.names):
# «Оплата услуг» / "Payment for services". Its older stored Russian spelling means the same default.
DEFAULT_SERVICE_TEXT = "Payment for services"
DEFAULT_SERVICE_TEXTS = frozenset({DEFAULT_SERVICE_TEXT, "Оплата услуг"})
SERVICE_NAME_KEYS = ("source", "field_id", "default_text")
# Days a client gets to pay an invoice issued on or after its line's due date.
INVOICE_GRACE_DAYS = 3
MAX_INVOICE_DAYS = 60
WON_STATUS_ID = 142  # the won stage: exists in every pipeline of the CRM
MAX_AMO_ID = 2**62
CLOUDPAYMENTS_KEYS = ("public_id", "api_secret", "clear_api_secret", "test_mode")
# Which gateway takes what (billing.services.gateways): cards and payment links, and SBP ("": the same page).
GATEWAY_NAMES = ("cloudpayments", "yookassa")
SBP_GATEWAYS = ("", "yookassa")  # SBP QR payments are made through YooKassa (payment_method_data sbp)
GATEWAYS_KEYS = ("cards", "sbp")
YOOKASSA_KEYS = ("shop_id", "secret_key", "clear_secret_key", "payout_agent_id", "payout_secret_key",
                 "clear_payout_secret_key")
DERIVED_YOOKASSA = frozenset({"secret_key_set", "connected", "notification_url", "payout_secret_key_set",
                              "payouts_connected"})

# The request body's sections, in the order the API names them.
OBJECT_SECTIONS: dict[str, tuple[str, ...]] = {
    "completed_stage": ("status_id", "pipeline_id"),
    "custom_fields": FIELD_KEYS,
    "requisites": REQUISITE_KEYS,
    "receipts": RECEIPT_KEYS,
    "cloudpayments": CLOUDPAYMENTS_KEYS,
    "gateways": GATEWAYS_KEYS,
    "yookassa": YOOKASSA_KEYS,
    "client_service_name": SERVICE_NAME_KEYS,
    "roles": ROLE_KEYS,
}
SECTIONS = ("completed_stage", "custom_fields", "task_user_id", "invoice_lead_days", "invoice_grace_days",
            "time_zone", "requisites", "reminders", "receipts", "cloudpayments", "client_service_name", "roles",
            "language", "proposal_expiry_days", "autopay_retry_days", "autopay_consent_text", "client_registration",
            "gateways", "yookassa", "plan_autostart", "early_payoff_mode")
# The terminal's secret is write-only, so a complete body cannot carry it: a replacement may leave it out.
# Sections and keys that came later may be left out too: a body complete before them stays complete.
OPTIONAL_ON_REPLACE = frozenset({"cloudpayments", "roles", "custom_fields.next_payment_date", "language",
                                 "proposal_expiry_days", "autopay_retry_days", "autopay_consent_text",
                                 "client_registration", "gateways", "yookassa", "plan_autostart",
                                 "early_payoff_mode"})
# The client-facing features of the client page, autopay and the sign-up form (billing.services.*).
LANGUAGES = ("ru", "en")
MAX_PROPOSAL_EXPIRY_DAYS = 90
MAX_AUTOPAY_RETRIES, MAX_AUTOPAY_RETRY_GAP_DAYS = 5, 30
CONSENT_TEXT_MAX_LENGTH = 5000
REGISTRATION_KEYS = ("enabled", "consent_text", "templates", "embed_origins")
REGISTRATION_TEMPLATE_KEYS = ("key", "title", "total", "installments_count", "period", "first_due_in_days")
MAX_REGISTRATION_TEMPLATES, MAX_EMBED_ORIGINS = 50, 20
TEMPLATE_PERIODS = ("month", "2weeks", "week", "quarter")
# What the settings body shows but nobody sets: a body read and sent back carries them, and they are ignored.
DERIVED = frozenset({"crm", "requisites_missing", "registration_url"})
DERIVED_CLOUDPAYMENTS = frozenset({"api_secret_set", "connected", "notification_urls", "last_notification"})
# Columns of Account rather than keys of its settings JSON.
COLUMN_SECTIONS = frozenset({"completed_stage", "time_zone", "cloudpayments", "yookassa"})
# Names a client might send for payment services PayPlan does not run: payments go through CloudPayments only.
OTHER_GATEWAY_KEYS = frozenset({"gateway", "payment_gateway", "payment_provider", "acquiring"})

DIGITS = {"inn": (10, 12), "kpp": (9,), "ogrn": (13, 15), "bik": (9,), "bank_account": (20,),
          "correspondent_account": (20,)}
REQUISITE_MAX_LENGTH, ITEM_LABEL_MAX_LENGTH, SERVICE_TEXT_MAX_LENGTH = 500, 128, 255
PUBLIC_ID_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


# --- Typed sections ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Requisites:
    company_name: str = ""
    inn: str = ""
    kpp: str = ""
    ogrn: str = ""
    address: str = ""
    bank_name: str = ""
    bik: str = ""
    bank_account: str = ""
    correspondent_account: str = ""
    email: str = ""
    phone: str = ""
    director: str = ""
    accountant: str = ""  # the chief accountant


@dataclass(frozen=True)
class FiscalReceipts:
    """54-FZ receipts through CloudKassir: sent after each payment when `enabled`."""

    enabled: bool = False
    inn: str = ""
    taxation_system: int = USN_INCOME
    vat: int | None = None
    item_label: str = ""  # blank: the service name the client reads
    method: int = FULL_PAYMENT_METHOD
    object: int = SERVICE_OBJECT


@dataclass(frozen=True)
class Gateways:
    """Per account: the gateway of invoices, payment links and autopay (`cards`), and of SBP payments (`sbp`,
    blank: none of its own; the client pays by SBP on the cards gateway's page when it offers SBP)."""

    cards: str = "cloudpayments"
    sbp: str = ""


@dataclass(frozen=True)
class ClientServiceName:
    """How documents, emails and the payment page name the service to clients (never the lead's title)."""

    source: str = "fixed"
    field_id: int | None = None
    default_text: str = DEFAULT_SERVICE_TEXT


@dataclass(frozen=True)
class Invoicing:
    lead_days: int = 0  # invoices go out this many days before the due date
    grace_days: int = INVOICE_GRACE_DAYS  # days to pay an invoice issued for a line already due
    client_service_name: ClientServiceName = field(default_factory=ClientServiceName)


@dataclass(frozen=True)
class ReminderStep:
    day: int  # relative to the due date; negative = before
    action: str


@dataclass(frozen=True)
class CrmMapping:
    field_ids: dict[str, int]  # only the mapped keys
    task_user_id: int | None  # None: the lead's responsible user


@dataclass(frozen=True)
class AccountSettings:
    requisites: Requisites
    fiscal: FiscalReceipts
    invoicing: Invoicing
    reminders: tuple[ReminderStep, ...]
    crm: CrmMapping


def _int(value: Any, default: int) -> int:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else default
    except (TypeError, ValueError):
        return default


def requisites_read(stored: dict) -> Requisites:
    raw = stored.get("requisites") if isinstance(stored.get("requisites"), dict) else {}
    return Requisites(**{key: str(raw.get(key) or "").strip() for key in REQUISITE_KEYS})


def fiscal_read(stored: dict) -> FiscalReceipts:
    raw = stored.get("receipts") if isinstance(stored.get("receipts"), dict) else {}
    vat = raw.get("vat")
    return FiscalReceipts(
        enabled=bool(raw.get("enabled")), inn=str(raw.get("inn") or ""),
        taxation_system=_int(raw.get("taxation_system"), USN_INCOME), vat=vat if vat in VAT_CODES else None,
        item_label=str(raw.get("item_label") or "").strip(),
        method=_int(raw.get("method"), FULL_PAYMENT_METHOD), object=_int(raw.get("object"), SERVICE_OBJECT))


def client_service_name_read(stored: dict) -> ClientServiceName:
    """An unknown source counts as fixed; a blank default text (or the standard one in any of its spellings)
    is the standard one, DEFAULT_SERVICE_TEXT."""
    raw = stored.get("client_service_name") if isinstance(stored.get("client_service_name"), dict) else {}
    source = raw.get("source") if raw.get("source") in SERVICE_NAME_SOURCES else "fixed"
    field_id = _int(raw.get("field_id"), 0)
    default_text = str(raw.get("default_text") or "").strip()
    if default_text in DEFAULT_SERVICE_TEXTS:
        default_text = DEFAULT_SERVICE_TEXT
    return ClientServiceName(source=source, field_id=field_id or None,
                             default_text=default_text or DEFAULT_SERVICE_TEXT)


def gateways_read(stored: dict) -> Gateways:
    """Junk reads as the default (CloudPayments for everything), never as a gateway nobody chose."""
    raw = stored.get("gateways") if isinstance(stored, dict) and isinstance(stored.get("gateways"), dict) else {}
    cards = raw.get("cards") if raw.get("cards") in GATEWAY_NAMES else "cloudpayments"
    sbp = raw.get("sbp") if raw.get("sbp") in SBP_GATEWAYS else ""
    return Gateways(cards=cards, sbp=sbp)


def invoicing_read(stored: dict) -> Invoicing:
    grace = stored.get("invoice_grace_days")
    grace_ok = isinstance(grace, int) and not isinstance(grace, bool) and 0 <= grace <= MAX_INVOICE_DAYS
    return Invoicing(lead_days=max(_int(stored.get("invoice_lead_days") or 0, 0), 0),
                     grace_days=grace if grace_ok else INVOICE_GRACE_DAYS,
                     client_service_name=client_service_name_read(stored))


def reminders_read(stored: dict) -> tuple[ReminderStep, ...]:
    raw = stored.get("reminders") if isinstance(stored.get("reminders"), list) else []
    return tuple(ReminderStep(day=item["day"], action=item["action"]) for item in raw
                 if isinstance(item, dict) and isinstance(item.get("day"), int) and item.get("action")
                 in REMINDER_ACTIONS)


def crm_mapping_read(stored: dict) -> CrmMapping:
    mapping = stored.get("custom_fields") if isinstance(stored.get("custom_fields"), dict) else {}
    return CrmMapping(field_ids={key: int(mapping[key]) for key in FIELD_KEYS if _int(mapping.get(key), 0)},
                      task_user_id=_int(stored.get("task_user_id"), 0) or None)


def settings_read(stored: dict) -> AccountSettings:
    """The stored JSON as typed sections, defaults filled in; junk left by old versions reads as the default."""
    stored = stored if isinstance(stored, dict) else {}
    return AccountSettings(requisites=requisites_read(stored), fiscal=fiscal_read(stored),
                           invoicing=invoicing_read(stored), reminders=reminders_read(stored),
                           crm=crm_mapping_read(stored))


# --- Checking what a request sends ---------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """`field` is the body's path (`requisites.inn`, `reminders.0.day`); `rule` names what is wrong."""

    field: str
    rule: str
    params: tuple[tuple[str, Any], ...] = ()
    unsupported: bool = False  # a setting for something that does not run: refused, never stored


def missing_for_replace(body: Any) -> list[str]:
    """The sections, and keys of object sections, a replacing body lacks; defaults would silently blank them."""
    if not isinstance(body, dict):
        return []  # the checks name the problem
    missing = []
    for name in SECTIONS:
        if name in OPTIONAL_ON_REPLACE:
            continue
        if name not in body:
            missing.append(name)
        elif name in OBJECT_SECTIONS and isinstance(body[name], dict):
            missing += [f"{name}.{key}" for key in OBJECT_SECTIONS[name]
                        if key not in body[name] and f"{name}.{key}" not in OPTIONAL_ON_REPLACE]
    return missing


class _Cleaner:
    """Collects the problems of one body while turning its values into clean JSON."""

    def __init__(self, stage_ids: str = "number") -> None:
        self.problems: list[Problem] = []
        self.stage_ids = stage_ids  # billing.domain.stages.STAGE_IDS: how the account's CRM names a stage

    def fail(self, path: str, rule: str, unsupported: bool = False, **params: Any) -> None:
        self.problems.append(Problem(path, rule, tuple(params.items()), unsupported))

    def integer(self, path: str, value: Any, low: int, high: int, *, nullable: bool = False,
                rule: str = "range") -> int | None:
        if value is None and nullable:
            return None
        if isinstance(value, str) and value.strip().lstrip("-").isdigit() and value.strip().isascii():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, "required" if value is None else "integer")
            return None
        if not low <= value <= high:
            self.fail(path, rule, min=low, max=high)
            return None
        return value

    def amo_id(self, path: str, value: Any, *, nullable: bool = True) -> int | None:
        return self.integer(path, value, 1, MAX_AMO_ID, nullable=nullable, rule="amo_id")

    def stage_id(self, path: str, value: Any, *, pipeline_id: Any = None, nullable: bool = True) -> int | str | None:
        """A CRM stage: a CRM id, or a stage code (`C1:NEW`) when the account's CRM names stages by code."""
        if self.stage_ids == "number" or value is None or (isinstance(value, int) and not isinstance(value, bool)):
            if self.stage_ids == "code" and value is not None:
                self.fail(path, "stage_code")
                return None
            return self.amo_id(path, value, nullable=nullable)
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "stage_code")
            return None
        pipeline = pipeline_id if isinstance(pipeline_id, int) and not isinstance(pipeline_id, bool) else None
        try:
            return stage_code_check(value.strip(), pipeline)
        except NotAStageCode as exc:
            self.fail(path, "stage_pipeline" if exc.reason == "pipeline" else "stage_code")
            return None

    def pipeline_id(self, path: str, value: Any) -> int | None:
        """A pipeline: a CRM id, or (a CRM naming stages by code) a category id, 0 being the default one."""
        if self.stage_ids == "number":
            return self.amo_id(path, value)
        return self.integer(path, value, 0, MAX_AMO_ID, nullable=True)

    def boolean(self, path: str, value: Any) -> bool | None:
        if not isinstance(value, bool):
            self.fail(path, "boolean")
            return None
        return value

    def text(self, path: str, value: Any, max_length: int) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.fail(path, "text")
            return None
        value = value.strip()
        if len(value) > max_length:
            self.fail(path, "too_long", max=max_length)
            return None
        return value

    def choice(self, path: str, value: Any, choices: tuple) -> Any:
        if isinstance(value, bool) or value not in choices:
            self.fail(path, "choice")
            return None
        return value

    def section(self, path: str, value: Any, keys: tuple[str, ...], ignored: frozenset = frozenset()) -> dict:
        if not isinstance(value, dict):
            self.fail(path, "object")
            return {}
        for key in value:
            if key not in keys and key not in ignored:
                self.fail(f"{path}.{key}", "unknown_setting", unsupported=True)
        return {key: value[key] for key in keys if key in value}


def _requisite(cleaner: _Cleaner, key: str, value: Any) -> str | None:
    path = f"requisites.{key}"
    text = cleaner.text(path, value, REQUISITE_MAX_LENGTH)
    if not text:
        return text
    if key in DIGITS and not (text.isdigit() and text.isascii() and len(text) in DIGITS[key]):
        cleaner.fail(path, f"digits_{key}")
        return None
    if key == "email":
        local, _, domain = text.partition("@")
        if not local or "." not in domain.strip(".") or any(char.isspace() for char in text) or "@" in domain:
            cleaner.fail(path, "email")
            return None
    return text


def _time_zone(cleaner: _Cleaner, value: Any) -> str | None:
    name = cleaner.text("time_zone", value, 64)
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        cleaner.fail("time_zone", "time_zone")
        return None
    return name


def _reminders(cleaner: _Cleaner, value: Any) -> list | None:
    if not isinstance(value, list):
        cleaner.fail("reminders", "list")
        return None
    if len(value) > MAX_REMINDERS:
        cleaner.fail("reminders", "too_many", max=MAX_REMINDERS)
        return None
    if any(not isinstance(step, dict) or set(step) != {"day", "action"} for step in value):
        # A ladder step without its day or action would be stored half-made.
        cleaner.fail("reminders", "reminder_step")
        return None
    return [{"day": cleaner.integer(f"reminders.{index}.day", step["day"], MIN_REMINDER_DAY, MAX_REMINDER_DAY),
             "action": cleaner.choice(f"reminders.{index}.action", step["action"], REMINDER_ACTIONS)}
            for index, step in enumerate(value)]


def _receipts(cleaner: _Cleaner, raw: dict) -> dict:
    clean = {}
    for key, value in raw.items():
        path = f"receipts.{key}"
        if key == "enabled":
            clean[key] = cleaner.boolean(path, value)
        elif key == "inn":
            text = cleaner.text(path, value, 12)
            if text and not (text.isdigit() and text.isascii() and len(text) in DIGITS["inn"]):
                cleaner.fail(path, "digits_inn")
            clean[key] = text
        elif key == "taxation_system":
            if value in RETIRED_TAXATION_SYSTEMS and not isinstance(value, bool):
                clean[key] = value  # refused by settings_check when it changes what is stored
            else:
                clean[key] = cleaner.choice(path, value, TAXATION_SYSTEMS)
        elif key == "vat":
            clean[key] = cleaner.choice(path, value, VAT_CODES)
        elif key == "item_label":
            clean[key] = cleaner.text(path, value, ITEM_LABEL_MAX_LENGTH)
        elif key == "method":
            clean[key] = cleaner.choice(path, value, RECEIPT_METHODS)
        elif key == "object":
            clean[key] = cleaner.choice(path, value, RECEIPT_OBJECTS)
    return clean


def _service_name(cleaner: _Cleaner, raw: dict) -> dict:
    clean = {}
    for key, value in raw.items():
        path = f"client_service_name.{key}"
        if key == "source":
            clean[key] = cleaner.choice(path, value, SERVICE_NAME_SOURCES)
        elif key == "field_id":
            clean[key] = cleaner.amo_id(path, value)
        elif key == "default_text":
            clean[key] = cleaner.text(path, value, SERVICE_TEXT_MAX_LENGTH)
    # Choosing a lead field as the source comes with the field: the one stored may belong to another source.
    if clean.get("source") in CRM_FIELD_SOURCES and not clean.get("field_id"):
        cleaner.fail("client_service_name.field_id", "service_field")
    return clean


def _cloudpayments(cleaner: _Cleaner, raw: dict) -> dict:
    """The terminal's keys: a secret absent, null or blank keeps the stored one; `clear_api_secret` removes it."""
    clean: dict[str, Any] = {}
    if "public_id" in raw:
        public_id = cleaner.text("cloudpayments.public_id", raw["public_id"], 128)
        if public_id and not set(public_id) <= PUBLIC_ID_CHARACTERS:
            cleaner.fail("cloudpayments.public_id", "public_id")
        clean["public_id"] = public_id
    secret = raw.get("api_secret")
    if secret is not None:
        if not isinstance(secret, str):
            cleaner.fail("cloudpayments.api_secret", "text")
        elif secret and (not 8 <= len(secret) <= 256
                         or any(char.isspace() or not char.isprintable() for char in secret)):
            cleaner.fail("cloudpayments.api_secret", "api_secret")
        elif secret:
            clean["api_secret"] = secret
    if "clear_api_secret" in raw:
        clean["clear_api_secret"] = cleaner.boolean("cloudpayments.clear_api_secret", raw["clear_api_secret"])
    if "test_mode" in raw:
        clean["test_mode"] = cleaner.boolean("cloudpayments.test_mode", raw["test_mode"])
    return clean


def _yookassa(cleaner: _Cleaner, raw: dict) -> dict:
    """The shop's keys: a secret key absent, null or blank keeps the stored one; `clear_secret_key` removes it."""
    clean: dict[str, Any] = {}
    if "shop_id" in raw:
        shop_id = cleaner.text("yookassa.shop_id", raw["shop_id"], 64)
        if shop_id and not (shop_id.isdigit() and shop_id.isascii()):
            cleaner.fail("yookassa.shop_id", "shop_id")
        clean["shop_id"] = shop_id
    secret = raw.get("secret_key")
    if secret is not None:
        if not isinstance(secret, str):
            cleaner.fail("yookassa.secret_key", "text")
        elif secret and (not 8 <= len(secret) <= 256
                         or any(char.isspace() or not char.isprintable() for char in secret)):
            cleaner.fail("yookassa.secret_key", "api_secret")
        elif secret:
            clean["secret_key"] = secret
    if "clear_secret_key" in raw:
        clean["clear_secret_key"] = cleaner.boolean("yookassa.clear_secret_key", raw["clear_secret_key"])
    # The payout gateway ([K]): its own agent id and secret key, the same rules.
    if "payout_agent_id" in raw:
        agent_id = cleaner.text("yookassa.payout_agent_id", raw["payout_agent_id"], 64)
        if agent_id and not (agent_id.isdigit() and agent_id.isascii()):
            cleaner.fail("yookassa.payout_agent_id", "shop_id")
        clean["payout_agent_id"] = agent_id
    payout_secret = raw.get("payout_secret_key")
    if payout_secret is not None:
        if not isinstance(payout_secret, str):
            cleaner.fail("yookassa.payout_secret_key", "text")
        elif payout_secret and (not 8 <= len(payout_secret) <= 256
                                or any(char.isspace() or not char.isprintable() for char in payout_secret)):
            cleaner.fail("yookassa.payout_secret_key", "api_secret")
        elif payout_secret:
            clean["payout_secret_key"] = payout_secret
    if "clear_payout_secret_key" in raw:
        clean["clear_payout_secret_key"] = cleaner.boolean("yookassa.clear_payout_secret_key",
                                                           raw["clear_payout_secret_key"])
    return clean


def _gateways(cleaner: _Cleaner, raw: dict) -> dict:
    clean = {}
    if "cards" in raw:
        clean["cards"] = cleaner.choice("gateways.cards", raw["cards"], GATEWAY_NAMES)
    if "sbp" in raw:
        clean["sbp"] = cleaner.choice("gateways.sbp", raw["sbp"] or "", SBP_GATEWAYS)
    return clean


def changes_clean(body: Any, *, stage_ids: str = "number") -> tuple[dict, list[Problem]]:
    """What a request sends, as clean JSON (only the keys sent, texts trimmed), and every problem found.
    Keys the body shows but nobody sets are dropped; keys of nothing PayPlan runs are problems. The plan
    rules' stages are named as the account's CRM names them (`stage_ids`, billing.domain.stages)."""
    cleaner = _Cleaner(stage_ids)
    if not isinstance(body, dict):
        cleaner.fail("non_field_errors", "settings_object")
        return {}, cleaner.problems
    clean: dict[str, Any] = {}
    for name, value in body.items():
        if name in DERIVED:
            continue
        if name in OTHER_GATEWAY_KEYS:
            cleaner.fail(name, "other_gateway", unsupported=True)
        elif name not in SECTIONS:
            cleaner.fail(name, "unknown_setting", unsupported=True)
        elif name == "completed_stage":
            raw = cleaner.section(name, value, OBJECT_SECTIONS[name])
            clean[name] = {key: cleaner.amo_id(f"{name}.{key}", item, nullable=key == "pipeline_id")
                           for key, item in raw.items()}
        elif name == "custom_fields":
            raw = cleaner.section(name, value, FIELD_KEYS)
            clean[name] = {key: cleaner.amo_id(f"{name}.{key}", item) for key, item in raw.items()}
        elif name == "task_user_id":
            clean[name] = cleaner.amo_id(name, value)
        elif name == "roles":
            raw = cleaner.section(name, value, ROLE_KEYS)
            clean[name] = {key: cleaner.amo_id(f"{name}.{key}", item) for key, item in raw.items()}
        elif name in ("invoice_lead_days", "invoice_grace_days"):
            clean[name] = cleaner.integer(name, value, 0, MAX_INVOICE_DAYS)
        elif name == "time_zone":
            clean[name] = _time_zone(cleaner, value)
        elif name == "requisites":
            raw = cleaner.section(name, value, REQUISITE_KEYS)
            clean[name] = {key: _requisite(cleaner, key, item) for key, item in raw.items()}
        elif name == "reminders":
            clean[name] = _reminders(cleaner, value)
        elif name == "receipts":
            clean[name] = _receipts(cleaner, cleaner.section(name, value, RECEIPT_KEYS))
        elif name == "client_service_name":
            clean[name] = _service_name(cleaner, cleaner.section(name, value, SERVICE_NAME_KEYS))
        elif name == "cloudpayments":
            raw = cleaner.section(name, value, CLOUDPAYMENTS_KEYS, ignored=DERIVED_CLOUDPAYMENTS)
            clean[name] = _cloudpayments(cleaner, raw)
        elif name == "yookassa":
            raw = cleaner.section(name, value, YOOKASSA_KEYS, ignored=DERIVED_YOOKASSA)
            clean[name] = _yookassa(cleaner, raw)
        elif name == "gateways":
            clean[name] = _gateways(cleaner, cleaner.section(name, value, GATEWAYS_KEYS))
        elif name == "language":
            clean[name] = cleaner.choice(name, value, LANGUAGES)
        elif name == "proposal_expiry_days":
            clean[name] = cleaner.integer(name, value, 1, MAX_PROPOSAL_EXPIRY_DAYS)
        elif name == "autopay_retry_days":
            clean[name] = _retry_days(cleaner, value)
        elif name == "autopay_consent_text":
            clean[name] = _consent_text(cleaner, name, value)
        elif name == "client_registration":
            clean[name] = _registration(cleaner, cleaner.section(name, value, REGISTRATION_KEYS))
        elif name == "plan_autostart":
            clean[name] = _plan_autostart(cleaner, value)
        elif name == "early_payoff_mode":
            clean[name] = cleaner.choice(name, value, autostart.PAYOFF_MODES)
    return clean, cleaner.problems


def _retry_days(cleaner: _Cleaner, value: Any) -> list[int] | None:
    """Days between soft-declined card charges: at most 5 retries, each 1..30 days after the last."""
    if not isinstance(value, list):
        cleaner.fail("autopay_retry_days", "values")
        return None
    if len(value) > MAX_AUTOPAY_RETRIES:
        cleaner.fail("autopay_retry_days", "too_many_values", max=MAX_AUTOPAY_RETRIES)
        return None
    days = [cleaner.integer(f"autopay_retry_days.{index}", day, 1, MAX_AUTOPAY_RETRY_GAP_DAYS)
            for index, day in enumerate(value)]
    return None if None in days else days


def _consent_text(cleaner: _Cleaner, path: str, value: Any) -> str | dict | None:
    """A consent text the client reads: one text, or one per language {"ru": ..., "en": ...}."""
    if isinstance(value, dict):
        raw = cleaner.section(path, value, LANGUAGES)
        return {key: cleaner.text(f"{path}.{key}", text, CONSENT_TEXT_MAX_LENGTH) for key, text in raw.items()}
    return cleaner.text(path, value, CONSENT_TEXT_MAX_LENGTH)


def _registration(cleaner: _Cleaner, raw: dict) -> dict:
    """The sign-up form: on/off, the 152-FZ consent, the plan templates offered, the sites that may embed it."""
    clean: dict[str, Any] = {}
    if "enabled" in raw:
        clean["enabled"] = cleaner.boolean("client_registration.enabled", raw["enabled"])
    if "consent_text" in raw:
        clean["consent_text"] = cleaner.text("client_registration.consent_text", raw["consent_text"],
                                             CONSENT_TEXT_MAX_LENGTH)
    if "templates" in raw:
        clean["templates"] = _registration_templates(cleaner, raw["templates"])
    if "embed_origins" in raw:
        origins = raw["embed_origins"]
        if not isinstance(origins, list) or len(origins) > MAX_EMBED_ORIGINS:
            cleaner.fail("client_registration.embed_origins", "values")
        else:
            clean["embed_origins"] = [_embed_origin(cleaner, f"client_registration.embed_origins.{index}", origin)
                                      for index, origin in enumerate(origins)]
    return clean


def _registration_templates(cleaner: _Cleaner, templates: Any) -> list[dict] | None:
    if not isinstance(templates, list):
        cleaner.fail("client_registration.templates", "values")
        return None
    if len(templates) > MAX_REGISTRATION_TEMPLATES:
        cleaner.fail("client_registration.templates", "too_many_values", max=MAX_REGISTRATION_TEMPLATES)
        return None
    clean = []
    for index, template in enumerate(templates):
        path = f"client_registration.templates.{index}"
        raw = cleaner.section(path, template, REGISTRATION_TEMPLATE_KEYS)
        item = {key: cleaner.text(f"{path}.{key}", raw.get(key), 255) for key in ("key", "title")}
        for key in ("key", "title"):
            if item[key] == "":
                cleaner.fail(f"{path}.{key}", "required")
        if item["key"] and item["key"] in [other.get("key") for other in clean]:
            cleaner.fail(f"{path}.key", "duplicate_key")
        item["total"] = _template_total(cleaner, f"{path}.total", raw.get("total"))
        item["installments_count"] = cleaner.integer(f"{path}.installments_count", raw.get("installments_count"),
                                                     1, 360)
        if "period" in raw:
            item["period"] = cleaner.choice(f"{path}.period", raw["period"], TEMPLATE_PERIODS)
        if "first_due_in_days" in raw:
            item["first_due_in_days"] = cleaner.integer(f"{path}.first_due_in_days", raw["first_due_in_days"],
                                                        0, 365)
        clean.append(item)
    return clean


def _template_total(cleaner: _Cleaner, path: str, value: Any) -> str | None:
    """A programme's price in roubles: «160000», «160 000,50» → "160000.00"; above zero. A price the form
    would have to drop later (it cannot build a plan) is refused here, beside its field."""
    text = cleaner.text(path, value, 32)
    if text is None:
        return None
    digits = text.replace(" ", "").replace("\u00a0", "").replace(",", ".")
    whole, _, cents = digits.partition(".")
    if not (whole.isdigit() and whole.isascii() and (cents == "" or (cents.isdigit() and len(cents) <= 2))) \
            or int(whole or "0") * 100 + int((cents or "0").ljust(2, "0")) <= 0 or len(whole) > 12:
        cleaner.fail(path, "amount")
        return None
    return f"{int(whole)}.{(cents or '0').ljust(2, '0')}"


def _embed_origin(cleaner: _Cleaner, path: str, value: Any) -> str | None:
    """A site allowed to show the form in a frame: https://host[:port], nothing after the host."""
    text = cleaner.text(path, value, 255)
    if text is None:
        return None
    host = text.removeprefix("https://").rstrip("/")
    if not text.startswith("https://") or not host or any(char in host for char in "/?#@ *'\"\\;,"):
        cleaner.fail(path, "origin")
        return None
    return "https://" + host


def settings_merged(stored: dict, changes: dict) -> dict:
    """`stored` with `changes` applied: dicts on both sides merge recursively, anything else is replaced."""
    merged = dict(stored)
    if isinstance(merged.get("autopay_consent_text"), str) and isinstance(changes.get("autopay_consent_text"), dict):
        # One text stands for every language: as {"ru": text} it still does (English falls back to Russian).
        merged["autopay_consent_text"] = {"ru": merged["autopay_consent_text"]}
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = settings_merged(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True)
class Circumstances:
    """What the settings cannot see by themselves, as it will be once the change is saved."""

    cloudpayments_connected: bool
    ladder_saved: bool  # the account saved a collections ladder: the old reminder list is not read
    yookassa_connected: bool = False
    deal_field_ids: frozenset[int] | None = None  # [J] the CRM's deal fields; None: not known, not checked


def settings_check(*, stored: dict, changes: dict, circumstances: Circumstances) -> list[Problem]:
    """Rules over the whole that would result, for what this change touches: a setting stored earlier that
    breaks one is never the reason a change of something else is refused."""
    problems = []
    merged = settings_merged(stored, {key: value for key, value in changes.items() if key not in COLUMN_SECTIONS})
    sent_receipts = changes.get("receipts") or {}
    before, after = fiscal_read(stored), fiscal_read(merged)
    if "taxation_system" in sent_receipts and sent_receipts["taxation_system"] in RETIRED_TAXATION_SYSTEMS \
            and before.taxation_system != after.taxation_system:
        problems.append(Problem("receipts.taxation_system", "retired_taxation", unsupported=True))
    if after.enabled and not before.enabled and not circumstances.cloudpayments_connected:
        problems.append(Problem("receipts.enabled", "receipts_without_terminal", unsupported=True))
    if after.enabled and not after.inn and ("inn" in sent_receipts or "enabled" in sent_receipts):
        problems.append(Problem("receipts.inn", "receipts_inn"))
    if "reminders" in changes and circumstances.ladder_saved \
            and changes["reminders"] != (stored.get("reminders") or []):
        problems.append(Problem("reminders", "reminders_superseded", unsupported=True))
    sent_gateways = changes.get("gateways") or {}
    chosen, was = gateways_read(merged), gateways_read(stored)
    # A gateway is switched to only once its keys are there: invoices would otherwise go nowhere (fail closed).
    # A body sent back as it was read (the same choice) is never refused for it.
    for key in ("cards", "sbp"):
        if key not in sent_gateways or getattr(chosen, key) == getattr(was, key):
            continue
        if getattr(chosen, key) == "yookassa" and not circumstances.yookassa_connected:
            problems.append(Problem(f"gateways.{key}", "gateway_not_connected"))
        if getattr(chosen, key) == "cloudpayments" and not circumstances.cloudpayments_connected:
            problems.append(Problem(f"gateways.{key}", "gateway_not_connected"))
    service = merged.get("client_service_name") if isinstance(merged.get("client_service_name"), dict) else {}
    sent_service = changes.get("client_service_name") or {}
    if "field_id" in sent_service and "source" not in sent_service and not sent_service["field_id"] \
            and service.get("source") in CRM_FIELD_SOURCES:
        problems.append(Problem("client_service_name.field_id", "service_field"))
    if "plan_autostart" in changes:
        problems += plan_autostart_check(merged.get("plan_autostart"), circumstances.deal_field_ids)
    return problems


# --- [J] plans that start themselves: the stage, the template, the gate --------------------------------
AUTOSTART_KEYS = ("enabled", "stage", "template", "gate")
AUTOSTART_STAGE_KEYS = ("status_id", "pipeline_id")
AUTOSTART_GATE_KEYS = ("enabled", "status_ids")
TEMPLATE_KEYS = ("plan", "total", "down_payment", "installments_count", "period", "due_day", "first_due_in_days",
                 "annual_rate", "grace_periods", "fees")
VALUE_SOURCE_KEYS = ("source", "value", "field_id")
FEE_KEYS = ("label", "amount")
MAX_GATE_STAGES = 20
FEE_LABEL_MAX_LENGTH = 128


def _plan_autostart(cleaner: _Cleaner, value: Any) -> dict | None:
    """Shapes and ranges of what is sent; completeness is checked on the merged whole (plan_autostart_check)."""
    if value is None:
        return None
    raw = cleaner.section("plan_autostart", value, AUTOSTART_KEYS)
    clean: dict[str, Any] = {}
    if "enabled" in raw:
        clean["enabled"] = cleaner.boolean("plan_autostart.enabled", raw["enabled"])
    if "stage" in raw:
        stage = cleaner.section("plan_autostart.stage", raw["stage"] or {}, AUTOSTART_STAGE_KEYS)
        clean["stage"] = {}
        if "pipeline_id" in stage:
            clean["stage"]["pipeline_id"] = cleaner.pipeline_id("plan_autostart.stage.pipeline_id",
                                                                stage["pipeline_id"])
        if "status_id" in stage:
            clean["stage"]["status_id"] = cleaner.stage_id("plan_autostart.stage.status_id", stage["status_id"],
                                                           pipeline_id=stage.get("pipeline_id"))
    if "gate" in raw:
        gate = cleaner.section("plan_autostart.gate", raw["gate"] or {}, AUTOSTART_GATE_KEYS)
        clean["gate"] = {}
        if "enabled" in gate:
            clean["gate"]["enabled"] = cleaner.boolean("plan_autostart.gate.enabled", gate["enabled"])
        if "status_ids" in gate:
            ids = gate["status_ids"]
            if not isinstance(ids, list) or len(ids) > MAX_GATE_STAGES:
                cleaner.fail("plan_autostart.gate.status_ids", "values")
            else:
                clean["gate"]["status_ids"] = [cleaner.stage_id(f"plan_autostart.gate.status_ids.{index}", item,
                                                                nullable=False) for index, item in enumerate(ids)]
    if "template" in raw:
        clean["template"] = _autostart_template(cleaner, raw["template"])
    return clean


def _autostart_template(cleaner: _Cleaner, value: Any) -> dict | None:
    if value is None:
        return None
    path = "plan_autostart.template"
    raw = cleaner.section(path, value, TEMPLATE_KEYS)
    clean: dict[str, Any] = {}
    if "plan" in raw:
        clean["plan"] = cleaner.choice(f"{path}.plan", raw["plan"], autostart.KINDS)
    if "period" in raw:
        clean["period"] = cleaner.choice(f"{path}.period", raw["period"], autostart.PERIODS)
    if "first_due_in_days" in raw:
        clean["first_due_in_days"] = cleaner.integer(f"{path}.first_due_in_days", raw["first_due_in_days"], 0,
                                                     autostart.MAX_FIRST_DUE_IN_DAYS)
    for key in ("total", "down_payment", "installments_count", "due_day", "annual_rate", "grace_periods"):
        if key in raw:
            clean[key] = _value_source(cleaner, f"{path}.{key}", key, raw[key])
    if "fees" in raw:
        fees = raw["fees"]
        if not isinstance(fees, list) or len(fees) > autostart.MAX_FEES:
            cleaner.fail(f"{path}.fees", "too_many_values" if isinstance(fees, list) else "values",
                         max=autostart.MAX_FEES)
        else:
            clean["fees"] = []
            for index, fee in enumerate(fees):
                fee_raw = cleaner.section(f"{path}.fees.{index}", fee, FEE_KEYS)
                label = cleaner.text(f"{path}.fees.{index}.label", fee_raw.get("label"), FEE_LABEL_MAX_LENGTH)
                if label == "":
                    cleaner.fail(f"{path}.fees.{index}.label", "required")
                clean["fees"].append({"label": label, "amount": _value_source(
                    cleaner, f"{path}.fees.{index}.amount", "fee", fee_raw.get("amount"))})
    return clean


def _value_source(cleaner: _Cleaner, path: str, key: str, value: Any) -> dict | None:
    """A template number: {"source": "fixed", "value": ...}, {"source": "amount"} (money values only) or
    {"source": "field", "field_id": ...}. A bare number or text stands for a fixed value."""
    if value is None:
        return None
    if not isinstance(value, dict):
        value = {"source": "fixed", "value": value}
    raw = cleaner.section(path, value, VALUE_SOURCE_KEYS)
    money_value = key in ("total", "down_payment", "fee")
    sources = autostart.SOURCES if money_value else ("fixed", "field")
    source = cleaner.choice(f"{path}.source", raw.get("source", "fixed"), sources)
    if source == "field":
        field_id = cleaner.amo_id(f"{path}.field_id", raw.get("field_id"))
        if field_id is None and raw.get("field_id") is None:
            cleaner.fail(f"{path}.field_id", "template_field")
        return {"source": "field", "field_id": field_id}
    if source == "amount":
        return {"source": "amount"}
    if source is None:
        return None
    fixed = raw.get("value")
    if money_value:
        return {"source": "fixed", "value": _template_total(cleaner, path, fixed)}
    if key == "due_day":
        if fixed == "last":
            return {"source": "fixed", "value": "last"}
        return {"source": "fixed", "value": cleaner.integer(path, fixed, 1, 31)}
    if key == "installments_count":
        return {"source": "fixed", "value": cleaner.integer(path, fixed, 1, autostart.MAX_INSTALLMENTS)}
    if key == "grace_periods":
        return {"source": "fixed", "value": cleaner.integer(path, fixed, 0, autostart.MAX_INSTALLMENTS - 1)}
    rate = autostart.number_parse(fixed)
    if rate is None or not 0 <= rate <= autostart.MAX_RATE:
        cleaner.fail(path, "annual_rate", max=int(autostart.MAX_RATE))
        return None
    return {"source": "fixed", "value": format(rate.normalize(), "f")}


def template_field_refs(template: Any) -> list[tuple[str, int]]:
    """(path, field id) of every template value read from a deal field."""
    if not isinstance(template, dict):
        return []
    refs = [(f"plan_autostart.template.{key}", value.get("field_id")) for key, value in template.items()
            if isinstance(value, dict) and value.get("source") == "field"]
    refs += [(f"plan_autostart.template.fees.{index}.amount", fee["amount"].get("field_id"))
             for index, fee in enumerate(template.get("fees") or [])
             if isinstance(fee, dict) and isinstance(fee.get("amount"), dict)
             and fee["amount"].get("source") == "field"]
    return [(path, field_id) for path, field_id in refs if isinstance(field_id, int)]


def plan_autostart_check(stored: Any, deal_field_ids: frozenset[int] | None = None) -> list[Problem]:
    """The merged `plan_autostart` as a whole: an enabled trigger names its stage and a complete template
    (the values a plan cannot be made without) whose deal fields exist in the CRM (when its list is known),
    the grace period is shorter than the plan, the gate names later stages other than the trigger's."""
    if not isinstance(stored, dict):
        return []
    problems = []
    template = stored.get("template") if isinstance(stored.get("template"), dict) else {}
    if deal_field_ids is not None:
        problems += [Problem(f"{path}.field_id", "template_field_unknown", (("id", field_id),))
                     for path, field_id in template_field_refs(template) if field_id not in deal_field_ids]
    if stored.get("enabled"):
        if not (stored.get("stage") or {}).get("status_id"):
            problems.append(Problem("plan_autostart.stage.status_id", "required"))
        for key in ("total", "installments_count"):
            if not isinstance(template.get(key), dict):
                problems.append(Problem(f"plan_autostart.template.{key}", "template_value"))
    count, grace = template.get("installments_count"), template.get("grace_periods")
    if template.get("plan") in ("annuity", "differentiated") and isinstance(count, dict) \
            and isinstance(grace, dict) and count.get("source") == "fixed" and grace.get("source") == "fixed" \
            and isinstance(count.get("value"), int) and isinstance(grace.get("value"), int) \
            and grace["value"] >= count["value"]:
        problems.append(Problem("plan_autostart.template.grace_periods", "grace_too_long"))
    gate = stored.get("gate") if isinstance(stored.get("gate"), dict) else {}
    trigger = (stored.get("stage") or {}).get("status_id")
    if gate.get("enabled") and not gate.get("status_ids"):
        problems.append(Problem("plan_autostart.gate.status_ids", "required"))
    if gate.get("enabled") and trigger and trigger in (gate.get("status_ids") or []):
        problems.append(Problem("plan_autostart.gate.status_ids", "gate_trigger"))
    return problems
