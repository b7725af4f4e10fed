"""/api/v4 reference reads: account, users, contacts, pipelines and statuses, custom fields."""

from __future__ import annotations

from .calls import ApiCall, listing, page
from .http_io import HttpError, Response, hal, no_content, not_found, problem
from .models import Contact, Pipeline
from .render import (
    account_json,
    contact_json,
    custom_field_json,
    pipeline_json,
    status_json,
    user_json,
)


def account_get(call: ApiCall) -> Response:
    return hal(account_json(call.account, call.user_id, call.base_url, call.request.with_parts, call.now))


def users_list(call: ApiCall) -> Response:
    if not call.is_admin:
        raise HttpError(problem(403, "Forbidden", "Access denied: the users list needs administrator rights"))
    users = sorted(call.account.users.values(), key=lambda user: user.id)
    return page(call, "users", [user_json(user, call.base_url) for user in users])


def user_get(call: ApiCall, user_id: int) -> Response:
    user = call.account.users.get(user_id)
    return hal(user_json(user, call.base_url)) if user else no_content()


def contact_get(call: ApiCall, contact_id: int) -> Response:
    contact = call.account.contacts.get(contact_id)
    if contact is None:
        return no_content()
    return hal(_contact(call, contact))


def contacts_list(call: ApiCall) -> Response:
    ids = call.int_values("filter[id]")
    text = (call.request.arg("query") or "").strip().lower()
    contacts = [contact for _, contact in sorted(call.account.contacts.items())
                if (not ids or contact.id in ids) and (not text or text in " ".join(
                    [contact.name] + [value for value, _ in contact.phones + contact.emails]).lower())]
    return page(call, "contacts", [_contact(call, contact) for contact in contacts])


def _contact(call: ApiCall, contact: Contact) -> dict:
    body = contact_json(call.account, contact, call.base_url)
    if "leads" not in call.request.with_parts:
        del body["_embedded"]["leads"]
    return body


def pipelines_list(call: ApiCall) -> Response:
    pipelines = sorted(call.account.pipelines.values(), key=lambda pipeline: pipeline.sort)
    return listing(call, "pipelines", [pipeline_json(call.account, p, call.base_url) for p in pipelines])


def _pipeline(call: ApiCall, pipeline_id: int) -> Pipeline:
    pipeline = call.account.pipelines.get(pipeline_id)
    if pipeline is None:
        raise not_found("Pipeline not found")
    return pipeline


def pipeline_get(call: ApiCall, pipeline_id: int) -> Response:
    return hal(pipeline_json(call.account, _pipeline(call, pipeline_id), call.base_url))


def statuses_list(call: ApiCall, pipeline_id: int) -> Response:
    statuses = _pipeline(call, pipeline_id).statuses
    return listing(call, "statuses", [status_json(call.account, status, call.base_url) for status in statuses])


def status_get(call: ApiCall, pipeline_id: int, status_id: int) -> Response:
    status = _pipeline(call, pipeline_id).status(status_id)
    if status is None:
        raise not_found("Status not found")
    return hal(status_json(call.account, status, call.base_url))


def _fields(call: ApiCall, entity_type: str) -> dict:
    return call.account.lead_fields if entity_type == "leads" else call.account.contact_fields


def custom_fields_list(call: ApiCall, entity_type: str) -> Response:
    fields = sorted(_fields(call, entity_type).values(), key=lambda field: (field.sort, field.id))
    return page(call, "custom_fields", [custom_field_json(call.account, f, call.base_url) for f in fields])


def custom_field_get(call: ApiCall, entity_type: str, field_id: int) -> Response:
    field = _fields(call, entity_type).get(field_id)
    if field is None:
        return no_content()
    return hal(custom_field_json(call.account, field, call.base_url))


ROUTES = [
    ("GET", "/api/v4/account", account_get),
    ("GET", "/api/v4/users", users_list),
    ("GET", "/api/v4/users/{id}", user_get),
    ("GET", "/api/v4/contacts", contacts_list),
    ("GET", "/api/v4/contacts/{id}", contact_get),
    ("GET", "/api/v4/leads/pipelines", pipelines_list),
    ("GET", "/api/v4/leads/pipelines/{id}", pipeline_get),
    ("GET", "/api/v4/leads/pipelines/{id}/statuses", statuses_list),
    ("GET", "/api/v4/leads/pipelines/{id}/statuses/{id}", status_get),
    ("GET", "/api/v4/{entity}/custom_fields", custom_fields_list),
    ("GET", "/api/v4/{entity}/custom_fields/{id}", custom_field_get),
]
