"""Validation and application of one lead update, with amoCRM's error codes and value shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .dates import date_field_value
from .http_io import FieldErrors
from .models import CLOSING_STATUS_IDS, Account, CustomField, Lead, by_id
from .webhooks import LeadChange

NOT_A_CHOICE = "The value you selected is not a valid choice."
SELECT_TYPES = ("select", "radiobutton", "multiselect")
TEXT_TYPES = ("text", "textarea", "url", "streetaddress")


@dataclass
class LeadPatch:
    lead: Lead
    attributes: dict[str, object] = field(default_factory=dict)
    # field id -> new `values`, None clears the field
    custom_fields: dict[int, list[dict] | None] = field(default_factory=dict)


def lead_patch_parse(account: Account, item: object, lead_id: int | None = None,
                     ) -> tuple[LeadPatch | None, FieldErrors]:
    """Check one PATCH item against the account; `lead_id` comes from the URL of a single-lead PATCH."""
    errors = FieldErrors()
    if not isinstance(item, dict):
        errors.add("InvalidType", "", "This value should be of type object.")
        return None, errors
    lead = by_id(account.leads, lead_id if lead_id is not None else item.get("id"))
    if lead is None:
        errors.add("NotFound", "id", "Lead not found.")
        return None, errors
    patch = LeadPatch(lead)
    if "name" in item:
        _check(errors, isinstance(item["name"], str), "InvalidType", "name", "This value should be of type string.")
        patch.attributes["name"] = item["name"]
    if "price" in item:
        price = item["price"]
        # amoCRM keeps prices as whole units of the account currency: floats and strings are rejected.
        valid = isinstance(price, int) and not isinstance(price, bool) and price >= 0
        _check(errors, valid, "InvalidType", "price", "This value should be of type int.")
        patch.attributes["price"] = price
    if "responsible_user_id" in item:
        _check(errors, by_id(account.users, item["responsible_user_id"]) is not None, "NotSupportedChoice",
               "responsible_user_id", NOT_A_CHOICE)
        patch.attributes["responsible_user_id"] = item["responsible_user_id"]
    _parse_stage(account, lead, item, patch, errors)
    if "custom_fields_values" in item:
        _parse_custom_fields(account, item["custom_fields_values"], patch, errors)
    return patch, errors


def _check(errors: FieldErrors, ok: bool, code: str, path: str, detail: str) -> None:
    if not ok:
        errors.add(code, path, detail)


def _parse_stage(account: Account, lead: Lead, item: dict, patch: LeadPatch, errors: FieldErrors) -> None:
    status_id, pipeline_id = item.get("status_id"), item.get("pipeline_id")
    if status_id is None and pipeline_id is None:
        return
    pipeline = by_id(account.pipelines, pipeline_id if pipeline_id is not None else lead.pipeline_id)
    if pipeline is None:
        errors.add("NotSupportedChoice", "pipeline_id", NOT_A_CHOICE)
        return
    if status_id in CLOSING_STATUS_IDS and pipeline_id is None:
        # 142/143 exist in every pipeline; without pipeline_id the lead may land in another one.
        errors.add("FieldMissing", "pipeline_id", "pipeline_id is required with status_id 142 or 143.")
        return
    if status_id is None:
        status_id = pipeline.statuses[0].id  # moving pipelines alone puts the lead at the first stage
    if pipeline.status(status_id) is None:
        errors.add("NotSupportedChoice", "status_id", NOT_A_CHOICE)
        return
    patch.attributes |= {"status_id": status_id, "pipeline_id": pipeline.id}


def _parse_custom_fields(account: Account, raw: object, patch: LeadPatch, errors: FieldErrors) -> None:
    if not isinstance(raw, list):
        errors.add("InvalidType", "custom_fields_values", "This value should be of type array.")
        return
    by_code = {f.code: f for f in account.lead_fields.values() if f.code}
    for index, entry in enumerate(raw):
        path = f"custom_fields_values.{index}"
        entry = entry if isinstance(entry, dict) else {}
        custom_field = by_id(account.lead_fields, entry.get("field_id")) or by_code.get(str(entry.get("field_code")))
        if custom_field is None:
            errors.add("NotSupportedChoice", f"{path}.field_id", NOT_A_CHOICE)
            continue
        values = entry.get("values")
        if values is None:
            patch.custom_fields[custom_field.id] = None
            continue
        if not isinstance(values, list):
            errors.add("InvalidType", f"{path}.values", "This value should be of type array.")
            continue
        stored = []
        for value_index, value in enumerate(values):
            result = _field_value(account, custom_field, value if isinstance(value, dict) else {})
            if isinstance(result, tuple):
                errors.add(result[0], f"{path}.values.{value_index}.{result[1]}", result[2])
            else:
                stored.append(result)
        patch.custom_fields[custom_field.id] = stored


def _field_value(account: Account, custom_field: CustomField, value: dict) -> dict | tuple[str, str, str]:
    """The stored value, or (code, path suffix, detail) when it does not fit the field type."""
    raw = value.get("value")
    if custom_field.type in SELECT_TYPES:
        option = custom_field.enum(enum_id=value.get("enum_id"), value=raw)
        if option is None:
            return "NotSupportedChoice", "enum_id", NOT_A_CHOICE
        return {"value": option.value, "enum_id": option.id}
    if custom_field.type == "numeric":
        try:
            number = Decimal(str(raw)) if not isinstance(raw, bool) and raw is not None else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            return "InvalidType", "value", "This value should be a number."
        # amoCRM answers numeric values as strings (unconfirmed); clients must cast either way.
        return {"value": format(number.normalize(), "f")}
    if custom_field.type == "date":
        stamp = date_field_value(raw, account.timezone)
        return {"value": stamp} if stamp is not None else ("InvalidType", "value", "This value is not a date.")
    if custom_field.type == "checkbox":
        return {"value": raw} if isinstance(raw, bool) else ("InvalidType", "value", "This value is not a bool.")
    if custom_field.type in TEXT_TYPES:
        ok = isinstance(raw, str | int) and not isinstance(raw, bool)
        return {"value": str(raw)} if ok else ("InvalidType", "value", "This value should be of type string.")
    return dict(value)


def lead_patch_apply(patch: LeadPatch, user_id: int, now: int) -> LeadChange:
    lead = patch.lead
    change = LeadChange(lead.id, lead.status_id, lead.pipeline_id, user_id)
    for name, value in patch.attributes.items():
        setattr(lead, name, value)
    for field_id, values in patch.custom_fields.items():
        if values:
            lead.custom_fields[field_id] = values
        else:
            lead.custom_fields.pop(field_id, None)
    lead.updated_at, lead.updated_by = now, user_id
    if change.status_changed(lead):
        lead.closed_at = now if lead.status_id in CLOSING_STATUS_IDS else None
    return change
