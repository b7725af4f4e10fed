"""The JSON amoCRM answers for each entity, with `_links` pointing back at the sandbox."""

from __future__ import annotations

from .dates import utc_offset
from .models import (
    CLOSING_STATUS_IDS,
    TASK_TYPES,
    Account,
    Contact,
    CustomField,
    Lead,
    Note,
    Pipeline,
    Status,
    Task,
    User,
    Webhook,
)


def self_link(base_url: str, path: str) -> dict:
    return {"self": {"href": f"{base_url}{path}"}}


def field_values_json(fields: dict[int, CustomField], values_by_field: dict[int, list[dict]]) -> list | None:
    rows = [{"field_id": field_id, "field_name": fields[field_id].name, "field_code": fields[field_id].code,
             "field_type": fields[field_id].type, "values": values}
            for field_id, values in values_by_field.items() if values and field_id in fields]
    return rows or None


def lead_json(account: Account, lead: Lead, base_url: str, *, with_contacts: bool = False) -> dict:
    embedded: dict = {"tags": [], "companies": []}
    if with_contacts:
        embedded["contacts"] = [{"id": contact_id, "is_main": index == 0,
                                 "_links": self_link(base_url, f"/api/v4/contacts/{contact_id}")}
                                for index, contact_id in enumerate(lead.contact_ids)]
    return {
        "id": lead.id, "name": lead.name, "price": lead.price, "responsible_user_id": lead.responsible_user_id,
        "group_id": 0, "status_id": lead.status_id, "pipeline_id": lead.pipeline_id, "loss_reason_id": None,
        "created_by": lead.created_by, "updated_by": lead.updated_by, "created_at": lead.created_at,
        "updated_at": lead.updated_at, "closed_at": lead.closed_at, "closest_task_at": None,
        "is_deleted": False, "custom_fields_values": field_values_json(account.lead_fields, lead.custom_fields),
        "score": None, "account_id": account.id, "labor_cost": None,
        "_links": self_link(base_url, f"/api/v4/leads/{lead.id}"), "_embedded": embedded,
    }


def contact_json(account: Account, contact: Contact, base_url: str) -> dict:
    by_code = {field.code: field for field in account.contact_fields.values()}
    values = {by_code[code].id: [_multitext_value(by_code[code], value, enum_code) for value, enum_code in rows]
              for code, rows in (("PHONE", contact.phones), ("EMAIL", contact.emails))}
    linked = [lead.id for lead in account.leads.values() if contact.id in lead.contact_ids]
    return {
        "id": contact.id, "name": contact.name, "first_name": contact.first_name,
        "last_name": contact.last_name, "responsible_user_id": contact.responsible_user_id, "group_id": 0,
        "created_by": contact.responsible_user_id, "updated_by": contact.responsible_user_id,
        "created_at": contact.created_at, "updated_at": contact.created_at, "closest_task_at": None,
        "is_deleted": False, "is_unsorted": False,
        "custom_fields_values": field_values_json(account.contact_fields, values), "account_id": account.id,
        "_links": self_link(base_url, f"/api/v4/contacts/{contact.id}"),
        "_embedded": {"tags": [], "companies": [],
                      "leads": [{"id": lead_id, "_links": self_link(base_url, f"/api/v4/leads/{lead_id}")}
                                for lead_id in linked]},
    }


def _multitext_value(field: CustomField, value: str, enum_code: str) -> dict:
    option = field.enum(value=enum_code)
    return {"value": value, "enum_id": option.id if option else None, "enum_code": enum_code}


def custom_field_json(account: Account, field: CustomField, base_url: str) -> dict:
    enums = None if field.enums is None else [{"id": e.id, "value": e.value, "sort": e.sort}
                                              for e in field.enums]
    return {"id": field.id, "name": field.name, "type": field.type, "account_id": account.id,
            "code": field.code, "sort": field.sort, "is_api_only": False, "enums": enums, "group_id": None,
            "required_statuses": [], "is_deletable": field.code is None, "is_predefined": field.code is not None,
            "entity_type": field.entity_type, "remind": None, "settings": None,
            "_links": self_link(base_url, f"/api/v4/{field.entity_type}/custom_fields/{field.id}")}


def status_json(account: Account, status: Status, base_url: str) -> dict:
    return {"id": status.id, "name": status.name, "sort": status.sort,
            "is_editable": status.id not in CLOSING_STATUS_IDS, "pipeline_id": status.pipeline_id,
            "color": status.color, "type": status.type, "account_id": account.id,
            "_links": self_link(base_url, f"/api/v4/leads/pipelines/{status.pipeline_id}/statuses/{status.id}")}


def pipeline_json(account: Account, pipeline: Pipeline, base_url: str) -> dict:
    return {"id": pipeline.id, "name": pipeline.name, "sort": pipeline.sort, "is_main": pipeline.is_main,
            "is_unsorted_on": True, "is_archive": False, "account_id": account.id,
            "_links": self_link(base_url, f"/api/v4/leads/pipelines/{pipeline.id}"),
            "_embedded": {"statuses": [status_json(account, s, base_url) for s in pipeline.statuses]}}


def note_json(account: Account, note: Note, base_url: str) -> dict:
    return {"id": note.id, "entity_id": note.entity_id, "created_by": note.created_by,
            "updated_by": note.created_by, "created_at": note.created_at,
            "updated_at": note.updated_at or note.created_at,
            "responsible_user_id": note.responsible_user_id, "group_id": 0, "note_type": note.note_type,
            "params": note.params, "account_id": account.id,
            "_links": self_link(base_url, f"/api/v4/{note.entity_type}/{note.entity_id}/notes/{note.id}")}


def task_json(account: Account, task: Task, base_url: str) -> dict:
    return {"id": task.id, "created_by": task.created_by, "updated_by": task.updated_by or task.created_by,
            "created_at": task.created_at, "updated_at": task.updated_at or task.created_at,
            "responsible_user_id": task.responsible_user_id, "group_id": 0, "entity_id": task.entity_id,
            "entity_type": task.entity_type, "is_completed": task.is_completed,
            "task_type_id": task.task_type_id, "text": task.text, "duration": task.duration,
            "complete_till": task.complete_till,
            "result": {"text": task.result_text} if task.result_text else [], "account_id": account.id,
            "_links": self_link(base_url, f"/api/v4/tasks/{task.id}")}


def user_json(user: User, base_url: str) -> dict:
    access = "A" if user.is_admin else "M"
    entity_rights = {"view": access, "edit": access, "add": "A", "delete": access, "export": access}
    return {"id": user.id, "name": user.name, "email": user.email, "lang": user.lang,
            "rights": {"leads": entity_rights, "contacts": entity_rights, "companies": entity_rights,
                       "tasks": {"edit": access, "delete": access}, "mail_access": True,
                       "catalog_access": True, "status_rights": [], "is_admin": user.is_admin,
                       "is_free": False, "is_active": True, "group_id": None, "role_id": None},
            "_links": self_link(base_url, f"/api/v4/users/{user.id}")}


def webhook_json(account: Account, hook: Webhook) -> dict:
    return {"id": hook.id, "destination": hook.destination, "created_at": hook.created_at,
            "updated_at": hook.created_at, "account_id": account.id, "created_by": hook.created_by,
            "sort": hook.sort, "disabled": False, "settings": hook.settings}


def account_json(account: Account, current_user_id: int, base_url: str, with_parts: set[str],
                 now: float) -> dict:
    body: dict = {
        "id": account.id, "name": account.name, "subdomain": account.subdomain,
        "created_at": account.created_at, "created_by": account.first_admin_id,
        "updated_at": account.created_at, "updated_by": account.first_admin_id,
        "current_user_id": current_user_id, "country": account.country, "currency": account.currency,
        "currency_symbol": account.currency_symbol, "customers_mode": "disabled", "is_unsorted_on": True,
        "mobile_feature_version": 0, "is_loss_reason_enabled": True, "is_helpbot_enabled": False,
        "is_technical_account": False, "contact_name_display_order": 1,
        "_links": self_link(base_url, "/api/v4/account"),
    }
    embedded = {}
    if "datetime_settings" in with_parts:
        embedded["datetime_settings"] = {
            "date_pattern": "d.m.Y H:i", "short_date_pattern": "d.m.Y", "short_time_pattern": "H:i",
            "date_format": "d.m.Y", "time_format": "H:i", "timezone": account.timezone,
            "timezone_offset": utc_offset(account.timezone, now)}
    if "task_types" in with_parts:
        embedded["task_types"] = TASK_TYPES
    if "users_groups" in with_parts:
        embedded["users_groups"] = [{"id": 0, "name": "Отдел продаж", "uuid": None}]
    if "amojo_id" in with_parts:
        body["amojo_id"] = f"00000000-0000-4000-a000-{account.id:012d}"
    if embedded:
        body["_embedded"] = embedded
    return body
