"""/api/v4/leads: read one, list with filters and paging, update one or many."""

from __future__ import annotations

import re

from .calls import ApiCall, page, write_collection
from .http_io import Response, hal, no_content, validation_problem
from .lead_patch import LeadPatch, lead_patch_apply, lead_patch_parse
from .models import Account, Lead
from .render import lead_json, self_link

STATUS_FILTER = re.compile(r"filter\[statuses\]\[(\d+)\]\[(status_id|pipeline_id)\]$")


def lead_get(call: ApiCall, lead_id: int) -> Response:
    lead = call.account.leads.get(lead_id)
    if lead is None:
        return no_content()  # amoCRM answers a missing entity with 204, not 404
    return hal(lead_json(call.account, lead, call.base_url, with_contacts="contacts" in call.request.with_parts))


def leads_list(call: ApiCall) -> Response:
    ids = call.int_values("filter[id]")
    pipeline_ids = call.int_values("filter[pipeline_id]")
    stages = _status_filter(call)
    text = (call.request.arg("query") or "").strip().lower()
    leads = [lead for lead in sorted(call.account.leads.values(), key=lambda lead: lead.id)
             if (not ids or lead.id in ids) and (not pipeline_ids or lead.pipeline_id in pipeline_ids)
             and (not stages or (lead.status_id, lead.pipeline_id) in stages)
             and (not text or text in _search_text(call.account, lead))]
    with_contacts = "contacts" in call.request.with_parts
    return page(call, "leads", [lead_json(call.account, lead, call.base_url, with_contacts=with_contacts)
                                for lead in leads])


def _status_filter(call: ApiCall) -> set[tuple[int, int]]:
    stages: dict[str, dict[str, int]] = {}
    for name, values in call.request.query.items():
        match = STATUS_FILTER.match(name)
        if match and values and values[0].isdigit():
            stages.setdefault(match[1], {})[match[2]] = int(values[0])
    return {(stage.get("status_id", 0), stage.get("pipeline_id", 0)) for stage in stages.values()}


def _search_text(account: Account, lead: Lead) -> str:
    """What `query=` looks through: name, field values, linked contacts' names, phones and emails."""
    parts = [lead.name, str(lead.id)]
    parts += [str(value.get("value", "")) for values in lead.custom_fields.values() for value in values]
    for contact in (account.contacts.get(contact_id) for contact_id in lead.contact_ids):
        if contact:
            parts += [contact.name] + [value for value, _ in contact.phones + contact.emails]
    return " ".join(parts).lower()


def leads_patch(call: ApiCall) -> Response:
    return write_collection(call, "leads", lambda c, item: lead_patch_parse(c.account, item), _commit)


def lead_patch(call: ApiCall, lead_id: int) -> Response:
    patch, errors = lead_patch_parse(call.account, call.request.payload(), lead_id)
    if errors:
        raise validation_problem([{"request_id": "0", "errors": errors}])
    return hal(_commit(call, patch))


def _commit(call: ApiCall, patch: LeadPatch) -> dict:
    call.lead_changes.append(lead_patch_apply(patch, call.user_id, call.now))
    lead = patch.lead
    return {"id": lead.id, "updated_at": lead.updated_at,
            "_links": self_link(call.base_url, f"/api/v4/leads/{lead.id}")}


ROUTES = [
    ("GET", "/api/v4/leads", leads_list),
    ("PATCH", "/api/v4/leads", leads_patch),
    ("GET", "/api/v4/leads/{id}", lead_get),
    ("PATCH", "/api/v4/leads/{id}", lead_patch),
]
