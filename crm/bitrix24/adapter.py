"""What billing's events ask of a CRM, done in a Bitrix24 portal (contract §5), in as few requests as a
batch allows. Each function takes plain arguments — a client (or portal), deal ids (Bitrix24's `ID`) and
payloads — and returns what happened per item; none reads or writes PayPlan's own tables.

    fields_update       deal fields through the user fields made on install (crm.deal.update)
    comments_add        timeline comments (crm.timeline.comment.add)
    comment_upsert      a running summary edited in place (crm.timeline.comment.update), made when gone
    tasks_add           tasks linked to the deal (tasks.task.add), responsible = given or the deal's own
    deals_move_to_won   the success stage of each deal's own pipeline, found by semantics (crm.status.list)
    deals_update        stage and/or responsible user as given (collections)
    deals_fetch         the deal and its main contact (the amoCRM `fetch_lead`)
    tasks_completed     which of our tasks are completed (payouts, [E]); task_complete closes one
    contacts_update     the deal's main contact as the client corrected it (crm.contact.update)
    comment_find / task_find   what an earlier attempt that may have been applied (timeout, 5xx) created

Results are `ItemResult`s: ok, the new entity id, or an error with `permanent` (dead) or not (retry).
"""
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from crm.bitrix24.client import Bitrix24Client
from crm.bitrix24.errors import Rejected
from crm.bitrix24.models import Portal

logger = logging.getLogger(__name__)

DEAL_OWNER_TYPE = 2
COMPLETED_TASK_STATUS = "5"
# Errors inside a batch that will not go away by sending the same command again.
PERMANENT_CODES = {"", "NOT_FOUND", "OWNER_NOT_FOUND", "ACCESS_DENIED", "INVALID_ARG_VALUE", "ERROR_ARGUMENT",
                   "insufficient_scope", "ERROR_CORE", "INVALID_REQUEST", "ERROR_NOT_FOUND", "ID_IS_NOT_DEFINED"}

# PayPlan's deal figures (the amoCRM snapshot keys) → the user fields the install creates (UF_CRM_ + code).
USER_FIELDS = {
    "total": ("PAYPLAN_TOTAL", "double", {"ru": "PayPlan: сумма по плану", "en": "PayPlan: plan total"}),
    "received": ("PAYPLAN_RECEIVED", "double", {"ru": "PayPlan: получено", "en": "PayPlan: received"}),
    "debt": ("PAYPLAN_DEBT", "double", {"ru": "PayPlan: остаток долга", "en": "PayPlan: debt"}),
    "payments_count": ("PAYPLAN_PAYMENTS", "integer", {"ru": "PayPlan: платежей", "en": "PayPlan: payments"}),
    "monthly_payment": ("PAYPLAN_MONTHLY", "double", {"ru": "PayPlan: ежемесячный платёж",
                                                      "en": "PayPlan: monthly payment"}),
    "last_payment_day": ("PAYPLAN_LAST_DAY", "date", {"ru": "PayPlan: последний платёж",
                                                      "en": "PayPlan: last payment"}),
    "next_payment_date": ("PAYPLAN_NEXT_DATE", "date", {"ru": "PayPlan: следующий платёж",
                                                        "en": "PayPlan: next payment"}),
    "group": ("PAYPLAN_GROUP", "string", {"ru": "PayPlan: группа", "en": "PayPlan: group"}),
    "education_direction": ("PAYPLAN_DIRECTION", "string", {"ru": "PayPlan: направление",
                                                            "en": "PayPlan: direction"}),
}


@dataclass(frozen=True)
class ItemResult:
    ok: bool
    entity_id: int | None = None
    error: str = ""
    permanent: bool = False

    @classmethod
    def failed(cls, code: str, description: str) -> "ItemResult":
        return cls(False, error=f"{code or 'error'}: {description}"[:500], permanent=code in PERMANENT_CODES)


@dataclass(frozen=True)
class TaskSpec:
    deal_id: int
    title: str
    deadline: str  # ISO-8601 with offset, e.g. 2026-12-05T18:00:00+03:00
    description: str = ""
    responsible_id: int | None = None  # None: the deal's responsible user


def client_for(portal_or_client: Portal | Bitrix24Client) -> Bitrix24Client:
    return portal_or_client if isinstance(portal_or_client, Bitrix24Client) else Bitrix24Client(portal_or_client)


# --- deal fields -------------------------------------------------------------------------------------------
def user_field_name(key: str) -> str:
    return f"UF_CRM_{USER_FIELDS[key][0]}"


def field_values(snapshot: dict, mapping: dict[str, str]) -> dict[str, object]:
    """`fields` for crm.deal.update from a figures snapshot: strings for money (never floats), ISO dates,
    '' to clear a value PayPlan no longer has."""
    values: dict[str, object] = {}
    for key, raw in snapshot.items():
        name = mapping.get(key)
        if name is None or key not in USER_FIELDS:
            continue
        kind = USER_FIELDS[key][1]
        if raw in (None, ""):
            values[name] = ""
        elif kind == "double":
            try:
                values[name] = f"{Decimal(str(raw)):.2f}"
            except InvalidOperation:
                continue
        elif kind == "integer":
            values[name] = str(int(raw))
        elif kind == "date":
            values[name] = date.fromisoformat(str(raw)[:10]).isoformat()
        else:
            values[name] = str(raw)[:255]
    return values


def fields_update(portal_or_client, updates: dict[int, dict]) -> dict[int, ItemResult]:
    """Write each deal's figures `{deal_id: snapshot}` into the user fields made on install."""
    client = client_for(portal_or_client)
    mapping = (client.portal.setup or {}).get("fields") or {}
    results: dict[int, ItemResult] = {}
    commands = {}
    for deal_id, snapshot in updates.items():
        values = field_values(snapshot, mapping)
        if not values:
            results[deal_id] = ItemResult(True, error="no user field for these values")
            continue
        commands[f"d{deal_id}"] = ("crm.deal.update", {"id": deal_id, "fields": values,
                                                       "params": {"REGISTER_SONET_EVENT": "N"}})
    return results | _by_deal(client.batch(commands), commands)


def deals_update(portal_or_client, updates: dict[int, dict]) -> dict[int, ItemResult]:
    """`{deal_id: {"STAGE_ID": ..., "ASSIGNED_BY_ID": ...}}`: only the keys given are sent."""
    client = client_for(portal_or_client)
    allowed = {"STAGE_ID", "ASSIGNED_BY_ID"}
    commands = {f"d{deal_id}": ("crm.deal.update", {"id": deal_id, "fields": {k: v for k, v in fields.items()
                                                                               if k in allowed and v not in (None, "")},
                                                    "params": {"REGISTER_SONET_EVENT": "N"}})
                for deal_id, fields in updates.items()}
    return _by_deal(client.batch(commands), commands)


def _by_deal(outcome, commands: dict) -> dict[int, ItemResult]:
    results = {}
    for key, (_, params) in commands.items():
        deal_id = int(params["id"])
        if key in outcome.errors:
            results[deal_id] = ItemResult.failed(*outcome.errors[key])
        elif key in outcome.results:
            results[deal_id] = ItemResult(True)
        else:
            results[deal_id] = ItemResult(False, error="no answer for this command")
    return results


# --- stage moves ----------------------------------------------------------------------------------------
def deals_move_to_won(portal_or_client, deal_ids: list[int]) -> dict[int, ItemResult]:
    """Move each deal to the success stage of its own pipeline (`WON`, `C{N}:WON` or a custom one: the
    stage with semantics S). Deals already won are left alone. Three batches whatever the count."""
    client = client_for(portal_or_client)
    deals = deals_read(client, deal_ids)
    results: dict[int, ItemResult] = {}
    for deal_id in deal_ids:
        if deal_id not in deals:
            results[deal_id] = ItemResult(False, error="the deal is not in Bitrix24 (deleted or no access)",
                                          permanent=True)
    categories = sorted({str(deal.get("CATEGORY_ID") or "0") for deal in deals.values()})
    won = won_stages(client, categories)
    commands = {}
    for deal_id, deal in deals.items():
        category = str(deal.get("CATEGORY_ID") or "0")
        if str(deal.get("STAGE_SEMANTIC_ID") or "") == "S":
            results[deal_id] = ItemResult(True, error="already won")
            continue
        stage = won.get(category)
        if stage is None:
            results[deal_id] = ItemResult(False, error=f"pipeline {category} has no success stage", permanent=True)
            continue
        commands[f"d{deal_id}"] = ("crm.deal.update", {"id": deal_id, "fields": {"STAGE_ID": stage},
                                                       "params": {"REGISTER_SONET_EVENT": "N"}})
    return results | _by_deal(client.batch(commands), commands)


def won_stages(client: Bitrix24Client, categories: list[str]) -> dict[str, str]:
    """The success stage (`STATUS_ID`) of each pipeline, decided by semantics, not by name."""
    commands = {f"c{category}": ("crm.status.list", {"filter": {"ENTITY_ID": "DEAL_STAGE" if category == "0"
                                                                 else f"DEAL_STAGE_{category}"},
                                                     "order": {"SORT": "ASC"}})
                for category in categories}
    outcome = client.batch(commands)
    found = {}
    for category in categories:
        rows = outcome.results.get(f"c{category}") or []
        for row in rows if isinstance(rows, list) else []:
            semantics = row.get("SEMANTICS") or (row.get("EXTRA") or {}).get("SEMANTICS")
            if semantics == "S":
                found[category] = str(row["STATUS_ID"])
                break
    return found


# --- reads ------------------------------------------------------------------------------------------------
def deals_read(client: Bitrix24Client, deal_ids: list[int]) -> dict[int, dict]:
    """The deals that exist among `deal_ids` (a deleted one answers `Not found` and is absent)."""
    commands = {f"d{deal_id}": ("crm.deal.get", {"id": deal_id}) for deal_id in dict.fromkeys(deal_ids)}
    outcome = client.batch(commands)
    return {int(key[1:]): row for key, row in outcome.results.items() if isinstance(row, dict) and row.get("ID")}


def deals_fetch(portal_or_client, deal_ids: list[int]) -> dict[int, dict]:
    """Each existing deal as PayPlan keeps it: name, responsible user, stage semantics, main contact
    (name, first phone and e-mail). Absent ids: the deal is gone or out of reach."""
    client = client_for(portal_or_client)
    deals = deals_read(client, deal_ids)
    contact_ids = {deal_id: str(deal.get("CONTACT_ID") or "") for deal_id, deal in deals.items()}
    commands = {f"c{cid}": ("crm.contact.get", {"id": cid}) for cid in dict.fromkeys(contact_ids.values()) if cid}
    contacts = client.batch(commands).results if commands else {}
    fetched = {}
    for deal_id, deal in deals.items():
        contact = contacts.get(f"c{contact_ids[deal_id]}") or {}
        contact = contact if isinstance(contact, dict) else {}
        fetched[deal_id] = {
            "name": str(deal.get("TITLE") or ""),
            "responsible_user_id": _int(deal.get("ASSIGNED_BY_ID")),
            "category_id": str(deal.get("CATEGORY_ID") or "0"), "stage_id": str(deal.get("STAGE_ID") or ""),
            "stage_semantic": str(deal.get("STAGE_SEMANTIC_ID") or ""),
            "opportunity": _money(deal.get("OPPORTUNITY")), "currency": str(deal.get("CURRENCY_ID") or ""),
            "contact_name": " ".join(part for part in (str(contact.get("NAME") or ""),
                                                       str(contact.get("LAST_NAME") or "")) if part),
            "contact_phone": _first(contact.get("PHONE")), "contact_email": _first(contact.get("EMAIL")),
            "modified_at": str(deal.get("DATE_MODIFY") or ""),
        }
    return fetched


def _first(values) -> str:
    for row in values if isinstance(values, list) else []:
        if isinstance(row, dict) and row.get("VALUE"):
            return str(row["VALUE"])
    return ""


def _money(raw) -> Decimal | None:
    try:
        return Decimal(str(raw)) if raw not in (None, "") else None
    except InvalidOperation:
        return None


def _int(raw) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


# --- timeline -----------------------------------------------------------------------------------------------
def comments_add(portal_or_client, comments: dict[str, tuple[int, str]]) -> dict[str, ItemResult]:
    """`{key: (deal_id, text)}` → the new comment id per key (the key is the caller's, e.g. an action id)."""
    client = client_for(portal_or_client)
    commands = {f"k{key}": ("crm.timeline.comment.add", {"fields": {"ENTITY_ID": deal_id, "ENTITY_TYPE": "deal",
                                                                    "COMMENT": text}})
                for key, (deal_id, text) in comments.items()}
    return _created(client.batch(commands), commands)


def comment_upsert(portal_or_client, *, deal_id: int, text: str, comment_id: int | None) -> ItemResult:
    """A running summary: the comment `comment_id` edited in place; a new one when it is gone (or None)."""
    client = client_for(portal_or_client)
    if comment_id:
        try:
            client.call("crm.timeline.comment.update", {"id": comment_id, "ownerTypeId": DEAL_OWNER_TYPE,
                                                        "ownerId": deal_id, "fields": {"COMMENT": text}})
            return ItemResult(True, entity_id=int(comment_id))
        except Rejected as exc:
            logger.info("summary comment %s of deal %s not editable (%s): made anew", comment_id, deal_id, exc.message)
    return comments_add(client, {"summary": (deal_id, text)})["summary"]


def _created(outcome, commands: dict) -> dict[str, ItemResult]:
    results = {}
    for key in commands:
        caller_key = key[1:]
        if key in outcome.errors:
            results[caller_key] = ItemResult.failed(*outcome.errors[key])
            continue
        raw = outcome.results.get(key)
        if isinstance(raw, dict):  # tasks.task.add: {"task": {"id": "12"}}
            raw = (raw.get("task") or {}).get("id") if isinstance(raw.get("task"), dict) else raw.get("id")
        entity_id = _int(raw)
        results[caller_key] = (ItemResult(True, entity_id=entity_id) if entity_id
                               else ItemResult(False, error="the answer lacks the new id"))
    return results


# --- tasks --------------------------------------------------------------------------------------------------
def tasks_add(portal_or_client, tasks: dict[str, TaskSpec]) -> dict[str, ItemResult]:
    """Create tasks linked to their deals; a task without a responsible user gets the deal's, read in the
    same batch (`$result[...]`) — a deal that is gone fails only its own task."""
    client = client_for(portal_or_client)
    commands: dict[str, tuple[str, dict]] = {}
    for key, task in tasks.items():
        responsible: object = task.responsible_id
        if not responsible:
            commands[f"r{key}"] = ("crm.deal.get", {"id": task.deal_id})
            responsible = f"$result[r{key}][ASSIGNED_BY_ID]"
        commands[f"k{key}"] = ("tasks.task.add", {"fields": {
            "TITLE": task.title[:250], "DESCRIPTION": task.description or task.title, "DEADLINE": task.deadline,
            "RESPONSIBLE_ID": responsible, "UF_CRM_TASK": [f"D_{task.deal_id}"]}})
    outcome = client.batch(commands)
    for key in tasks:  # a failed responsible lookup is the task's failure
        if f"r{key}" in outcome.errors and f"k{key}" not in outcome.results:
            outcome.errors[f"k{key}"] = outcome.errors[f"r{key}"]
    return _created(outcome, {key: value for key, value in commands.items() if key.startswith("k")})


def tasks_completed(portal_or_client, task_ids: list[int]) -> dict[int, dict]:
    """Which of `task_ids` are completed: `{task_id: {"closed_by": user id, "closed_at": iso}}`."""
    client = client_for(portal_or_client)
    completed = {}
    ids = sorted(set(task_ids))
    commands = {f"p{start}": ("tasks.task.list", {"filter": {"ID": ids[start:start + 50]},
                                                  "select": ["ID", "STATUS", "CLOSED_BY", "CLOSED_DATE"]})
                for start in range(0, len(ids), 50)}
    for page in client.batch(commands).results.values():
        rows = (page or {}).get("tasks") if isinstance(page, dict) else page
        for row in rows or []:
            if str(row.get("status") or row.get("STATUS") or "") == COMPLETED_TASK_STATUS:
                completed[int(row.get("id") or row.get("ID"))] = {
                    "closed_by": _int(row.get("closedBy") or row.get("CLOSED_BY")),
                    "closed_at": str(row.get("closedDate") or row.get("CLOSED_DATE") or "")}
    return completed


def task_complete(portal_or_client, task_id: int) -> ItemResult:
    client = client_for(portal_or_client)
    try:
        client.call("tasks.task.complete", {"taskId": task_id})
    except Rejected as exc:
        return ItemResult.failed(exc.code, exc.message)
    return ItemResult(True, entity_id=task_id)


# --- contacts -------------------------------------------------------------------------------------------------
def contacts_update(portal_or_client, updates: dict[int, dict]) -> dict[int, ItemResult]:
    """`{deal_id: {"name", "phone", "email"}}` onto each deal's main contact; a deal without one (or gone)
    has nothing to correct (ok, with a note)."""
    client = client_for(portal_or_client)
    deals = deals_read(client, list(updates))
    results: dict[int, ItemResult] = {}
    commands = {}
    for deal_id, contact in updates.items():
        contact_id = str((deals.get(deal_id) or {}).get("CONTACT_ID") or "")
        if not contact_id.isdigit():
            results[deal_id] = ItemResult(True, error="the deal has no contact in Bitrix24 (or is gone)")
            continue
        fields: dict = {}
        if contact.get("name"):
            fields["NAME"] = str(contact["name"])[:100]
        if contact.get("phone"):
            fields["PHONE"] = [{"VALUE": str(contact["phone"]), "VALUE_TYPE": "WORK"}]
        if contact.get("email"):
            fields["EMAIL"] = [{"VALUE": str(contact["email"]), "VALUE_TYPE": "WORK"}]
        commands[f"d{deal_id}"] = ("crm.contact.update", {"id": contact_id, "fields": fields})
    outcome = client.batch(commands)
    for key in commands:
        deal_id = int(key[1:])
        results[deal_id] = (ItemResult.failed(*outcome.errors[key]) if key in outcome.errors
                            else ItemResult(key in outcome.results, error="" if key in outcome.results
                                            else "no answer for this command"))
    return results


# --- finding what an earlier attempt created -------------------------------------------------------------------
def comment_find(portal_or_client, *, deal_id: int, text: str, since: str = "") -> int | None:
    """The id of a comment with this text on the deal, created at or after `since` (ISO), if any."""
    client = client_for(portal_or_client)
    rows = client.call("crm.timeline.comment.list", {
        "filter": {"ENTITY_ID": deal_id, "ENTITY_TYPE": "deal"}, "select": ["ID", "COMMENT", "CREATED"],
        "order": {"ID": "DESC"}}) or []
    for row in rows if isinstance(rows, list) else []:
        if row.get("COMMENT") == text and str(row.get("CREATED") or "") >= since:
            return _int(row.get("ID"))
    return None


def task_find(portal_or_client, *, deal_id: int, title: str) -> int | None:
    """The id of an open or closed task with this title linked to the deal, if any."""
    client = client_for(portal_or_client)
    answer = client.call("tasks.task.list", {"filter": {"UF_CRM_TASK": f"D_{deal_id}", "TITLE": title[:250]},
                                             "select": ["ID", "TITLE", "UF_CRM_TASK"]}) or {}
    rows = answer.get("tasks") if isinstance(answer, dict) else answer
    for row in rows or []:
        if str(row.get("title") or row.get("TITLE") or "") == title[:250]:
            return _int(row.get("id") or row.get("ID"))
    return None
