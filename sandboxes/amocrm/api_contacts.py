"""/api/v4 writes of contacts and the "complex" lead (a lead with its new contact in one call).

Shapes as amoCRM documents them for v4 (not in shared/contracts/amocrm.md yet: marked [U] there):
`PATCH /api/v4/contacts` takes an array of {id, name?, custom_fields_values?}; `POST /api/v4/leads/complex`
takes an array of {name, price?, pipeline_id?, _embedded: {contacts: [{name, custom_fields_values}]}} and
answers a plain array of {id, contact_id, company_id, request_id: [...], merged: false}.
"""

from __future__ import annotations

from .calls import ApiCall, write_collection
from .http_io import FieldErrors, Response, bad_request, hal

PHONE_AND_EMAIL = ("PHONE", "EMAIL")


def _values(item: dict, errors: FieldErrors) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for row in item.get("custom_fields_values") or []:
        code = (row or {}).get("field_code") if isinstance(row, dict) else None
        if code not in PHONE_AND_EMAIL:
            errors.add("NotSupportedChoice", "custom_fields_values", "Unknown field.")
            continue
        found[code] = [(str(value.get("value") or ""), str(value.get("enum_code") or "WORK"))
                       for value in row.get("values") or [] if isinstance(value, dict) and value.get("value")]
    return found


def _contact_patch_parse(call: ApiCall, item: object) -> tuple[object, FieldErrors]:
    errors = FieldErrors()
    if not isinstance(item, dict):
        errors.add("InvalidType", "", "This value should be of type object.")
        return None, errors
    contact = call.account.contacts.get(item.get("id")) if isinstance(item.get("id"), int) else None
    if contact is None:
        errors.add("NotFound", "id", "Contact not found.")
    return (contact, item.get("name"), _values(item, errors)), errors


def _contact_patch_commit(call: ApiCall, parsed) -> dict:
    contact, name, values = parsed
    if isinstance(name, str) and name.strip():
        contact.name = name.strip()
        contact.first_name, _, contact.last_name = contact.name.partition(" ")
    if "PHONE" in values:
        contact.phones = values["PHONE"]
    if "EMAIL" in values:
        contact.emails = values["EMAIL"]
    return {"id": contact.id, "updated_at": call.now}


def contacts_patch(call: ApiCall) -> Response:
    return write_collection(call, "contacts", _contact_patch_parse, _contact_patch_commit)


def leads_complex(call: ApiCall) -> Response:
    items = call.request.payload()
    if not isinstance(items, list) or not items or len(items) > 50:
        raise bad_request("Body must be a JSON array of 1..50 leads")
    answers = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not str(item.get("name") or "").strip():
            raise bad_request(f"[{index}].name is required")
        errors = FieldErrors()
        embedded = (item.get("_embedded") or {}).get("contacts") or []
        contact_ids = []
        for raw in embedded:
            values = _values(raw, errors)
            contact = call.account.add_contact(str(raw.get("name") or "").strip() or "—",
                                               phones=values.get("PHONE", []), emails=values.get("EMAIL", []))
            contact_ids.append(contact.id)
        if errors:
            raise bad_request(f"[{index}]: {errors}")
        lead = call.account.add_lead(str(item["name"]).strip(), price=int(item.get("price") or 0),
                                     pipeline_id=item.get("pipeline_id") or None, contact_ids=contact_ids,
                                     created_at=call.now)
        answers.append({"id": lead.id, "contact_id": contact_ids[0] if contact_ids else None, "company_id": None,
                        "request_id": [str(item.get("request_id") or index)], "merged": False})
    return hal(answers)


ROUTES = [
    ("PATCH", "/api/v4/contacts", contacts_patch),
    ("POST", "/api/v4/leads/complex", leads_complex),
]
