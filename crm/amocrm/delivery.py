"""Sending one round of claimed actions in as few amoCRM calls as the API allows.

Field updates and stage moves of many leads go in one PATCH /api/v4/leads, notes in one POST
/api/v4/leads/notes, tasks in one POST /api/v4/tasks, lead reads in one filtered GET; answers are
matched back by `request_id`. A note or task that may already exist (an earlier attempt timed out, or
its worker died) is looked up first and never created twice.
"""
import logging
from collections.abc import Callable

from billing.domain.plan_autostart import DealValues, Stage
from billing.errors import ApplicationError
from billing.models import Account
from billing.names import CRM_FIELD_SOURCES, client_service_name_setting
from billing.services.deals import deal_cancel, deal_update_crm_data
from billing.services.plan_autostart import autostart_watched_status_ids, deal_stage_observe
from crm import texts
from crm.amocrm.client import AmoCrmClient
from crm.amocrm.errors import (
    CrmBlocked,
    CrmNotSent,
    CrmRateLimited,
    CrmReinstallNeeded,
    CrmRejected,
    CrmTransient,
)
from crm.amocrm.fields import custom_field_values, lead_field_text, lead_fields, lead_fields_forget
from crm.models import CrmAction
from crm.outbox import Outcome
from crm.settings import crm_settings

logger = logging.getLogger(__name__)

Kind = CrmAction.Kind
CREATE_KINDS = {Kind.ADD_NOTE, Kind.CREATE_TASK, Kind.SUMMARY_NOTE}
# How far back a found note/task may have been made and still count as our earlier attempt.
RECONCILE_WINDOW_SECONDS = 600
Items = dict[int, tuple[CrmAction, dict]]


def deliver(client: AmoCrmClient, actions: list[CrmAction]) -> tuple[list[Outcome], str]:
    """Send a round; every action gets an outcome. The reason to stop draining the account, or ''."""
    account = actions[0].deal.account
    groups = _groups(actions)
    outcomes: list[Outcome] = []
    for index, (sender, group) in enumerate(groups):
        try:
            outcomes += sender(client, account, group)
        except CrmTransient as exc:
            if isinstance(exc, CrmNotSent):
                rest = [action for _, later in groups[index:] for action in later]
                return outcomes + _release(rest, exc.message, exc.retry_after or 5), "busy"
            outcomes += [Outcome(action, "retry", error=exc.message, rate_limited=isinstance(exc, CrmRateLimited),
                                 maybe_sent=exc.maybe_applied and action.kind in CREATE_KINDS,
                                 delay_seconds=exc.retry_after or 0) for action in group]
        except (CrmReinstallNeeded, CrmBlocked) as exc:
            rest = [action for _, later in groups[index:] for action in later]
            delay = exc.pause_seconds if isinstance(exc, CrmBlocked) else 0
            return outcomes + _release(rest, exc.message, delay), type(exc).__name__
        except CrmRejected as exc:
            # A refused lookup (not the write itself): nothing of this group can go out as it is.
            outcomes += [Outcome(action, "dead", error=exc.message) for action in group]
    return outcomes, ""


def _release(actions: list[CrmAction], error: str, delay: float) -> list[Outcome]:
    return [Outcome(action, "release", error=error, delay_seconds=delay) for action in actions]


Sender = Callable[[AmoCrmClient, Account, list[CrmAction]], list[Outcome]]


def _groups(actions: list[CrmAction]) -> list[tuple[Sender, list[CrmAction]]]:
    """Reads first, then lead writes, notes, tasks; an action refused inside a batch goes alone."""
    order = [(Kind.FETCH_LEAD, _fetch_leads), (Kind.UPDATE_FIELDS, _write_leads),
             (Kind.MOVE_TO_COMPLETED, _write_leads), (Kind.UPDATE_LEAD, _write_leads),
             (Kind.UPDATE_CONTACT, _write_contacts),
             (Kind.ADD_NOTE, _add_notes), (Kind.SUMMARY_NOTE, _summary_notes), (Kind.CREATE_TASK, _add_tasks)]
    batched: dict[Sender, list[CrmAction]] = {}
    alone: list[tuple[Sender, list[CrmAction]]] = []
    for kind, sender in order:
        for action in (action for action in actions if action.kind == kind):
            if action.send_alone:
                alone.append((sender, [action]))
            else:
                batched.setdefault(sender, []).append(action)
    return list(batched.items()) + alone


# --- lead reads ------------------------------------------------------------------------------------
def _leads(client: AmoCrmClient, lead_ids: list[int], *, with_contacts: bool = False) -> dict[int, dict]:
    """The live leads among `lead_ids`, by id (a deleted or unknown lead is simply absent)."""
    if not lead_ids:
        return {}
    params = {"filter[id][]": sorted(set(lead_ids)), "limit": 250}
    if with_contacts:
        params["with"] = "contacts"
    answer = client.get("/api/v4/leads", params) or {}
    rows = (answer.get("_embedded") or {}).get("leads") or []
    return {int(row["id"]): row for row in rows if not row.get("is_deleted")}


def _fetch_leads(client: AmoCrmClient, account: Account, actions: list[CrmAction]) -> list[Outcome]:
    leads = _leads(client, [action.external_id for action in actions], with_contacts=True)
    contact_ids = {lead_id: _main_contact_id(lead) for lead_id, lead in leads.items()}
    contacts = _contacts(client, [contact_id for contact_id in contact_ids.values() if contact_id])
    service_field = client_service_name_setting(account)
    service_field_id = service_field.field_id if service_field.source in CRM_FIELD_SOURCES else None
    watched = autostart_watched_status_ids(account=account)
    outcomes = []
    for action in actions:
        lead = leads.get(action.external_id)
        if lead is None:
            if action.payload.get("deleted"):
                deal_cancel(deal=action.deal, reason="The lead was deleted in amoCRM.")
                outcomes.append(Outcome(action, "done", error="the lead is deleted in amoCRM: deal cancelled"))
            else:
                outcomes.append(Outcome(action, "done", error="the lead is not in amoCRM (deleted or no access)"))
            continue
        contact = contacts.get(contact_ids[action.external_id]) or {}
        try:
            deal_update_crm_data(deal=action.deal, name=str(lead.get("name") or ""),
                                 contact_name=str(contact.get("name") or ""),
                                 contact_phone=_first_value(contact, "PHONE"),
                                 contact_email=_first_value(contact, "EMAIL"),
                                 responsible_user_id=lead.get("responsible_user_id"),
                                 service_name=lead_field_text(lead, service_field_id) if service_field_id else None)
        except ApplicationError as exc:
            outcomes.append(Outcome(action, "dead", error=exc.message))
            continue
        if watched:
            _stage_rules(action, lead)
        outcomes.append(Outcome(action, "done"))
    return outcomes


def _stage_rules(action: CrmAction, lead: dict) -> None:
    """[J] The lead's stage and values go to billing's stage rules (a plan built from the template, a move back
    from a stage closed until the first payment); a failure there never fails the fetch."""
    if not lead.get("status_id"):
        return
    rows = [row for row in lead.get("custom_fields_values") or [] if isinstance(row.get("field_id"), int)]
    values = DealValues(amount=str(lead.get("price") or ""),
                        fields={row["field_id"]: lead_field_text(lead, row["field_id"]) for row in rows},
                        field_names={row["field_id"]: str(row.get("field_name") or "") for row in rows})
    try:
        deal_stage_observe(deal=action.deal, stage=Stage(int(lead["status_id"]), lead.get("pipeline_id")),
                           values=values, stage_reported=bool(action.payload.get("stage_moved")))
    except ApplicationError as exc:
        logger.warning("Stage rules for lead %s: %s", action.external_id, exc.message)


def _main_contact_id(lead: dict) -> int | None:
    linked = (lead.get("_embedded") or {}).get("contacts") or []
    main = next((contact for contact in linked if contact.get("is_main")), linked[0] if linked else None)
    return int(main["id"]) if main else None


def _contacts(client: AmoCrmClient, contact_ids: list[int]) -> dict[int, dict]:
    if not contact_ids:
        return {}
    answer = client.get("/api/v4/contacts", {"filter[id][]": sorted(set(contact_ids)), "limit": 250}) or {}
    return {int(row["id"]): row for row in (answer.get("_embedded") or {}).get("contacts") or []}


def _first_value(contact: dict, field_code: str) -> str:
    for row in contact.get("custom_fields_values") or []:
        if row.get("field_code") == field_code:
            for value in row.get("values") or []:
                if value.get("value"):
                    return str(value["value"])
    return ""


# --- lead writes: fields and stage -----------------------------------------------------------------
def _write_leads(client: AmoCrmClient, account: Account, actions: list[CrmAction]) -> list[Outcome]:
    options = crm_settings(account)
    updates = [action for action in actions if action.kind == Kind.UPDATE_FIELDS]
    moves = [action for action in actions if action.kind == Kind.MOVE_TO_COMPLETED]
    fields = lead_fields(client) if updates and options.field_ids else {}
    # 142/143 exist in every pipeline: without a configured one, the lead stays in its own.
    pipelines = {} if options.completed_pipeline_id else {
        lead_id: lead.get("pipeline_id") for lead_id, lead in _leads(client, [a.external_id for a in moves]).items()}
    outcomes, items = [], {}
    for action in actions:
        if action.kind == Kind.UPDATE_FIELDS:
            values = custom_field_values(action.payload.get("fields") or {}, options.field_ids, fields,
                                         account.time_zone)
            if not values:
                outcomes.append(Outcome(action, "done", error="no lead field is mapped for these values"))
                continue
            item = {"id": action.external_id, "custom_fields_values": values}
        elif action.kind == Kind.UPDATE_LEAD:
            item = _lead_update_item(action)
        else:
            pipeline_id = options.completed_pipeline_id or pipelines.get(action.external_id)
            if pipeline_id is None:
                outcomes.append(Outcome(action, "dead", error="the lead is not in amoCRM (deleted or no access)"))
                continue
            item = {"id": action.external_id, "status_id": options.completed_status_id, "pipeline_id": pipeline_id}
        items[action.pk] = (action, item | {"request_id": str(action.pk)})
    outcomes += _send_batch(client, "PATCH", "/api/v4/leads", "leads", items)
    if any(outcome.result == "dead" and "NotSupportedChoice" in outcome.error for outcome in outcomes):
        lead_fields_forget(account.pk)  # a field or option changed in the account: read them again
    return outcomes


def _lead_update_item(action: CrmAction) -> dict:
    """A collections stage move and/or a new responsible user (the lawyer); only the keys given are sent."""
    item = {"id": action.external_id}
    for key in ("status_id", "pipeline_id", "responsible_user_id"):
        if action.payload.get(key):
            item[key] = int(action.payload[key])
    return item


# --- contacts: what the client corrected on their page -------------------------------------------------
def contact_fields(*, phone: str, email: str) -> list[dict]:
    """The PHONE and EMAIL multitext values of a contact (amoCRM's own field codes, every account has them)."""
    values = []
    if phone:
        values.append({"field_code": "PHONE", "values": [{"value": phone, "enum_code": "WORK"}]})
    if email:
        values.append({"field_code": "EMAIL", "values": [{"value": email, "enum_code": "WORK"}]})
    return values


def _write_contacts(client: AmoCrmClient, account: Account, actions: list[CrmAction]) -> list[Outcome]:
    """PATCH the lead's main contact; a lead with no contact (or gone) has nothing to correct."""
    leads = _leads(client, [action.external_id for action in actions], with_contacts=True)
    outcomes, items = [], {}
    for action in actions:
        lead = leads.get(action.external_id)
        contact_id = _main_contact_id(lead) if lead else None
        if contact_id is None:
            outcomes.append(Outcome(action, "done", error="the lead has no contact in amoCRM (or is gone)"))
            continue
        contact = action.payload.get("contact") or {}
        items[action.pk] = (action, {"id": contact_id, "name": contact.get("name") or "",
                                     "custom_fields_values": contact_fields(phone=contact.get("phone") or "",
                                                                            email=contact.get("email") or ""),
                                     "request_id": str(action.pk)})
    return outcomes + _send_batch(client, "PATCH", "/api/v4/contacts", "contacts", items)


# --- notes and tasks -------------------------------------------------------------------------------
def _add_notes(client: AmoCrmClient, account: Account, actions: list[CrmAction]) -> list[Outcome]:
    outcomes, items = [], {}
    for action in actions:
        known = action.crm_entity_id or (_note_found(client, action) if action.maybe_sent else None)
        if known:
            outcomes.append(Outcome(action, "done", entity_id=known))
            continue
        items[action.pk] = (action, {"entity_id": action.external_id, "note_type": "service_message",
                                     "params": {"service": texts.service_name(), "text": action.payload["text"]},
                                     "request_id": str(action.pk)})
    return outcomes + _send_batch(client, "POST", "/api/v4/leads/notes", "notes", items, creates=True)


def _summary_notes(client: AmoCrmClient, account: Account, actions: list[CrmAction]) -> list[Outcome]:
    """A deal's running summary: the note an earlier summary made is edited in place (PATCH); the first one,
    or one whose note amoCRM no longer has (deleted by a user), is created."""
    outcomes, edits, creates = [], {}, []
    for action in actions:
        if action.crm_entity_id:
            outcomes.append(Outcome(action, "done", entity_id=action.crm_entity_id))
            continue
        note_id = _summary_note_id(action)
        params = {"service": texts.service_name(), "text": action.payload["text"]}
        if note_id is None:
            creates.append(action)
            continue
        edits[action.pk] = (action, {"id": note_id, "entity_id": action.external_id, "note_type": "service_message",
                                     "params": params, "request_id": str(action.pk)})
    if edits:
        try:
            client.request("PATCH", "/api/v4/leads/notes", body=[item for _, item in edits.values()])
        except CrmRejected as exc:
            logger.info("summary notes could not be edited (%s): made anew", exc.message)
            creates += [action for action, _ in edits.values()]
        else:
            outcomes += [Outcome(action, "done", entity_id=item["id"]) for action, item in edits.values()]
    return outcomes + _add_notes(client, account, creates) if creates else outcomes


def _summary_note_id(action: CrmAction) -> int | None:
    """The amoCRM id of the deal's summary note, as the last delivered summary left it."""
    return (CrmAction.objects.filter(deal_id=action.deal_id, kind=Kind.SUMMARY_NOTE, state=CrmAction.State.DONE,
                                     crm_entity_id__isnull=False, id__lt=action.pk)
            .order_by("-id").values_list("crm_entity_id", flat=True).first())


def _add_tasks(client: AmoCrmClient, account: Account, actions: list[CrmAction]) -> list[Outcome]:
    options = crm_settings(account)
    need_lookup = [action.external_id for action in actions
                   if not (action.payload.get("responsible_user_id") or options.task_user_id
                           or action.deal.responsible_user_id)]
    responsible_by_lead = {lead_id: lead.get("responsible_user_id")
                           for lead_id, lead in _leads(client, need_lookup).items()}
    outcomes, items = [], {}
    for action in actions:
        known = action.crm_entity_id or (_task_found(client, action) if action.maybe_sent else None)
        if known:
            outcomes.append(Outcome(action, "done", entity_id=known))
            continue
        responsible = (action.payload.get("responsible_user_id") or options.task_user_id
                       or action.deal.responsible_user_id or responsible_by_lead.get(action.external_id))
        if not responsible:
            outcomes.append(Outcome(action, "dead", error="no responsible user: the lead is not in amoCRM"))
            continue
        items[action.pk] = (action, {"text": action.payload["text"], "complete_till": action.payload["complete_till"],
                                     "entity_id": action.external_id, "entity_type": "leads", "task_type_id": 1,
                                     "responsible_user_id": int(responsible), "request_id": str(action.pk)})
    return outcomes + _send_batch(client, "POST", "/api/v4/tasks", "tasks", items, creates=True)


def _note_found(client: AmoCrmClient, action: CrmAction) -> int | None:
    rows = client.pages(f"/api/v4/leads/{action.external_id}/notes", "notes",
                        {"filter[note_type][]": "service_message"})
    return _ours(action, rows, lambda row: (row.get("params") or {}).get("text") == action.payload["text"])


def _task_found(client: AmoCrmClient, action: CrmAction) -> int | None:
    rows = client.pages("/api/v4/tasks", "tasks", {"filter[entity_type]": "leads",
                                                    "filter[entity_id][]": action.external_id})
    return _ours(action, rows, lambda row: row.get("text") == action.payload["text"]
                 and row.get("complete_till") == action.payload["complete_till"])


def _ours(action: CrmAction, rows, matches: Callable[[dict], bool]) -> int | None:
    """The id of an entity like the one this action creates, made since it was written and not
    already claimed by another action."""
    since = action.created_at.timestamp() - RECONCILE_WINDOW_SECONDS
    for row in rows:
        if (row.get("created_at") or 0) >= since and matches(row):
            taken = CrmAction.objects.filter(account_id=action.account_id, kind=action.kind,
                                             crm_entity_id=row["id"]).exclude(pk=action.pk).exists()
            if not taken:
                logger.info("CRM action %s: found the %s an earlier attempt created (%s)", action.pk, action.kind,
                            row["id"])
                return int(row["id"])
    return None


# --- batches ---------------------------------------------------------------------------------------
def _send_batch(client: AmoCrmClient, method: str, path: str, key: str, items: Items, *,
                creates: bool = False) -> list[Outcome]:
    if not items:
        return []
    try:
        answer = client.request(method, path, body=[item for _, item in items.values()])
    except CrmRejected as exc:
        return _refused(exc, items, creates)
    rows = ((answer or {}).get("_embedded") or {}).get(key) or []
    by_request = {str(row.get("request_id")): row for row in rows if isinstance(row, dict)}
    outcomes = []
    for index, (action, _) in enumerate(items.values()):
        row = by_request.get(str(action.pk)) or (rows[index] if len(rows) == len(items) else None)
        if creates and not (row and row.get("id")):
            outcomes.append(Outcome(action, "retry", maybe_sent=True, error=f"{path}: the answer lacks the new id"))
        else:
            outcomes.append(Outcome(action, "done", entity_id=int(row["id"]) if creates else None))
    return outcomes


def _refused(exc: CrmRejected, items: Items, creates: bool) -> list[Outcome]:
    """amoCRM refused the request: refused items are dead with its message; the rest go again."""
    if exc.item_errors:
        return [Outcome(action, "dead", error=f"{exc.message} | {exc.item_errors[str(action.pk)]}")
                if str(action.pk) in exc.item_errors
                else Outcome(action, "release", error="sent again: another item of its batch was refused",
                             maybe_sent=creates)
                for action, _ in items.values()]
    if len(items) == 1:
        return [Outcome(action, "dead", error=exc.message) for action, _ in items.values()]
    # Refused as a whole without saying which item: each goes alone next, so only the bad one dies.
    return [Outcome(action, "release", error=exc.message, send_alone=True, maybe_sent=creates)
            for action, _ in items.values()]
