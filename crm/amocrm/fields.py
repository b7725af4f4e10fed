"""PayPlan's numbers as amoCRM custom field values, shaped by each field's type in that account.

Field ids, types and select options differ per account, so they are read from the API and cached;
a value a field cannot hold (a group name that is not one of a select's options) is left out rather
than failing the whole update.
"""
import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.cache import cache

from crm import coordination
from crm.amocrm.client import AmoCrmClient
from crm.texts import field_names

logger = logging.getLogger(__name__)

CACHE_SECONDS = 600
NUMERIC_TYPES = {"numeric", "monetary", "price"}
TEXT_TYPES = {"text", "textarea"}
DATE_TYPES = {"date", "date_time", "birthday"}
SELECT_TYPES = {"select", "radiobutton", "multiselect"}


@dataclass(frozen=True)
class LeadField:
    id: int
    name: str
    type: str
    enums: dict[str, int]  # option text (casefolded) -> enum id


def lead_field_rows(client: AmoCrmClient, *, fresh: bool = False) -> list[dict]:
    """The account's lead custom fields as amoCRM lists them, from the cache unless `fresh`."""
    cache_key = coordination.key("lead-fields", client.account_id)
    rows = None if fresh else cache.get(cache_key)
    if rows is None:
        rows = list(client.pages("/api/v4/leads/custom_fields", "custom_fields"))
        cache.set(cache_key, rows, CACHE_SECONDS)
    return rows


def lead_fields(client: AmoCrmClient, *, fresh: bool = False) -> dict[int, LeadField]:
    return {field.id: field for field in map(lead_field, lead_field_rows(client, fresh=fresh))}


def lead_fields_forget(account_id: int) -> None:
    """After amoCRM refused a field id or option: read the fields afresh next time."""
    cache.delete(coordination.key("lead-fields", account_id))


def lead_field(row: dict) -> LeadField:
    enums = {str(option.get("value", "")).casefold(): int(option["id"]) for option in row.get("enums") or []}
    return LeadField(int(row["id"]), str(row.get("name") or ""), str(row.get("type") or ""), enums)


def custom_field_values(snapshot: dict, field_ids: dict[str, int], fields: dict[int, LeadField],
                        time_zone: str) -> list[dict]:
    """`custom_fields_values` for a lead PATCH: one entry per mapped key whose value fits its field."""
    values = []
    for key, field_id in field_ids.items():
        raw = snapshot.get(key)
        field = fields.get(field_id)
        if raw in (None, ""):
            continue
        if field is None:
            logger.warning("lead field %s (%s) does not exist in the account; skipped", field_id, key)
            continue
        value = _value(field, raw, time_zone)
        if value is not None:
            values.append({"field_id": field_id, "values": [value]})
    return values


def _value(field: LeadField, raw: object, time_zone: str) -> dict | None:
    if field.type in NUMERIC_TYPES:
        number = Decimal(str(raw))
        # Whole numbers go as integers; kopecks as a string, never a float.
        return {"value": int(number) if number == number.to_integral_value() else f"{number:.2f}"}
    if field.type in DATE_TYPES:
        day = date.fromisoformat(str(raw))
        # amoCRM keeps a date as the unix time of local midnight in the account's time zone.
        return {"value": int(datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(time_zone)).timestamp())}
    if field.type in SELECT_TYPES:
        enum_id = field.enums.get(str(raw).casefold())
        if enum_id is None:
            logger.info("%r is not an option of lead field %s; skipped", raw, field.id)
            return None
        return {"enum_id": enum_id}
    if field.type in TEXT_TYPES:
        return {"value": str(raw)}
    logger.info("lead field %s has type %s, which PayPlan does not fill; skipped", field.id, field.type)
    return None


def lead_field_text(lead: dict, field_id: int) -> str:
    """The text of a lead's custom field as amoCRM returns it (a select's option text, values joined)."""
    for row in lead.get("custom_fields_values") or []:
        if row.get("field_id") == field_id:
            texts = [str(value.get("value") or "").strip() for value in row.get("values") or []]
            return ", ".join(text for text in texts if text)[:255]
    return ""


def suggested_field_ids(fields: dict[int, LeadField]) -> dict[str, int]:
    """Field ids whose names match the usual names of PayPlan's numbers, for a first setup."""
    by_name = {field.name.strip().casefold(): field.id for field in fields.values()}
    suggested = {}
    for key, names in field_names().items():
        found = next((by_name[name] for name in names if name in by_name), None)
        if found is not None:
            suggested[key] = found
    return suggested
