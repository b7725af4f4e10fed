"""/api/v4 notes on leads and tasks: collection writes and the reads tests use to assert exactly-once."""

from __future__ import annotations

from .calls import ApiCall, page, require_int, validation_problem, write_collection
from .http_io import FieldErrors, Response, hal, no_content
from .models import TASK_TYPES, Note, Task, by_id
from .render import note_json, self_link, task_json

NOTE_TYPES = {"common", "call_in", "call_out", "service_message", "extended_service_message",
              "message_cashier", "geolocation", "sms_in", "sms_out", "attachment", "invoice_paid"}
TASK_ENTITY_TYPES = {"leads", "contacts", "companies", "customers"}


def _note_parse(call: ApiCall, item: object, lead_id: int | None = None) -> tuple[Note | None, FieldErrors]:
    errors = FieldErrors()
    if not isinstance(item, dict):
        errors.add("InvalidType", "", "This value should be of type object.")
        return None, errors
    entity_id = lead_id if lead_id is not None else require_int(errors, item, "entity_id")
    if entity_id is not None and entity_id not in call.account.leads:
        errors.add("NotFound", "entity_id", "Lead not found.")
    note_type, params = item.get("note_type"), item.get("params")
    if not isinstance(note_type, str) or note_type not in NOTE_TYPES:
        errors.add("NotSupportedChoice", "note_type", "The value you selected is not a valid choice.")
    if not isinstance(params, dict):
        errors.add("FieldMissing", "params", "This field is missing.")
    elif note_type in ("common", "service_message") and not isinstance(params.get("text"), str):
        errors.add("FieldMissing", "params.text", "This field is missing.")
    elif note_type == "service_message" and not isinstance(params.get("service"), str):
        errors.add("FieldMissing", "params.service", "This field is missing.")
    responsible = item.get("responsible_user_id", call.user_id)
    if by_id(call.account.users, responsible) is None:
        errors.add("NotSupportedChoice", "responsible_user_id", "The value you selected is not a valid choice.")
    if errors:
        return None, errors
    note = Note(0, entity_id, "leads", note_type, params, item.get("created_by") or call.user_id,
                responsible, call.now)
    return note, errors


def _note_commit(call: ApiCall, note: Note) -> dict:
    note.id = call.account.next_id("note")
    call.account.notes[note.id] = note
    return {"id": note.id, "entity_id": note.entity_id,
            "_links": self_link(call.base_url, f"/api/v4/leads/{note.entity_id}/notes/{note.id}")}


def lead_notes_create(call: ApiCall, lead_id: int) -> Response:
    return write_collection(call, "notes", lambda c, item: _note_parse(c, item, lead_id), _note_commit)


def notes_create(call: ApiCall) -> Response:
    return write_collection(call, "notes", _note_parse, _note_commit)


def lead_notes_list(call: ApiCall, lead_id: int) -> Response:
    return _notes_page(call, {lead_id})


def notes_list(call: ApiCall) -> Response:
    return _notes_page(call, call.int_values("filter[entity_id]"))


def _notes_page(call: ApiCall, entity_ids: set[int]) -> Response:
    note_types = set(call.request.values("filter[note_type]"))
    notes = [note for _, note in sorted(call.account.notes.items())
             if (not entity_ids or note.entity_id in entity_ids)
             and (not note_types or note.note_type in note_types)]
    return page(call, "notes", [note_json(call.account, note, call.base_url) for note in notes])


def note_get(call: ApiCall, note_id: int) -> Response:
    note = call.account.notes.get(note_id)
    return hal(note_json(call.account, note, call.base_url)) if note else no_content()


def lead_note_get(call: ApiCall, lead_id: int, note_id: int) -> Response:
    note = call.account.notes.get(note_id)
    return note_get(call, note_id) if note and note.entity_id == lead_id else no_content()


def _task_parse(call: ApiCall, item: object) -> tuple[Task | None, FieldErrors]:
    errors = FieldErrors()
    if not isinstance(item, dict):
        errors.add("InvalidType", "", "This value should be of type object.")
        return None, errors
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        errors.add("FieldMissing", "text", "This field is missing.")
    complete_till = require_int(errors, item, "complete_till")
    responsible = require_int(errors, item, "responsible_user_id")
    if responsible is not None and responsible not in call.account.users:
        errors.add("NotSupportedChoice", "responsible_user_id", "The value you selected is not a valid choice.")
    task_type_id = item.get("task_type_id", 1)
    if by_id({task_type["id"]: task_type for task_type in TASK_TYPES}, task_type_id) is None:
        errors.add("NotSupportedChoice", "task_type_id", "The value you selected is not a valid choice.")
    entity_type, entity_id = item.get("entity_type"), item.get("entity_id")
    if entity_type is not None or entity_id is not None:
        entity_type = entity_type if isinstance(entity_type, str) else ""
        entities = {"leads": call.account.leads, "contacts": call.account.contacts}.get(entity_type)
        if entity_type not in TASK_ENTITY_TYPES:
            errors.add("NotSupportedChoice", "entity_type", "The value you selected is not a valid choice.")
        elif entities is not None and by_id(entities, entity_id) is None:
            errors.add("NotFound", "entity_id", "Entity not found.")
    duration = require_int(errors, item, "duration", required=False) or 0
    if errors:
        return None, errors
    task = Task(0, text, complete_till, entity_id, entity_type, task_type_id, responsible, duration,
                call.user_id, call.now)
    return task, errors


def _task_commit(call: ApiCall, task: Task) -> dict:
    task.id = call.account.next_id("task")
    call.account.tasks[task.id] = task
    return {"id": task.id, "_links": self_link(call.base_url, f"/api/v4/tasks/{task.id}")}


def tasks_create(call: ApiCall) -> Response:
    return write_collection(call, "tasks", _task_parse, _task_commit)


def tasks_list(call: ApiCall) -> Response:
    task_ids = call.int_values("filter[id][]") | call.int_values("filter[id]")
    entity_type = call.request.arg("filter[entity_type]")
    entity_ids = call.int_values("filter[entity_id]")
    responsible = call.int_values("filter[responsible_user_id]")
    completed = call.request.arg("filter[is_completed]")
    tasks = [task for _, task in sorted(call.account.tasks.items())
             if (not task_ids or task.id in task_ids)
             and (entity_type is None or task.entity_type == entity_type)
             and (not entity_ids or task.entity_id in entity_ids)
             and (not responsible or task.responsible_user_id in responsible)
             and (completed is None or task.is_completed == (completed in ("1", "true")))]
    return page(call, "tasks", [task_json(call.account, task, call.base_url) for task in tasks])


def task_get(call: ApiCall, task_id: int) -> Response:
    task = call.account.tasks.get(task_id)
    return hal(task_json(call.account, task, call.base_url)) if task else no_content()


def _task_edit_parse(call: ApiCall, item: object, task_id: int | None = None) -> tuple[Task | None, FieldErrors]:
    """An edit of a known task: completion (`is_completed`, `result.text`), text, deadline, responsible."""
    errors = FieldErrors()
    if not isinstance(item, dict):
        errors.add("InvalidType", "", "This value should be of type object.")
        return None, errors
    task_id = task_id if task_id is not None else require_int(errors, item, "id")
    task = call.account.tasks.get(task_id) if task_id is not None else None
    if task_id is not None and task is None:
        errors.add("NotFound", "id", "Task not found.")
    completed = item.get("is_completed")
    if completed is not None and not isinstance(completed, bool):
        errors.add("InvalidType", "is_completed", "This value should be of type bool.")
    result = item.get("result")
    if result is not None and not (isinstance(result, dict) and isinstance(result.get("text", ""), str)):
        errors.add("InvalidType", "result", "This value should be of type object.")
    if "responsible_user_id" in item and item["responsible_user_id"] not in call.account.users:
        errors.add("NotSupportedChoice", "responsible_user_id", "The value you selected is not a valid choice.")
    if errors:
        return None, errors
    return task, errors


def _task_edit_apply(call: ApiCall, item: dict, task: Task) -> dict:
    if item.get("is_completed") is not None:
        task.is_completed = item["is_completed"]
    if isinstance(item.get("result"), dict):
        task.result_text = item["result"].get("text", "")
    for key in ("text", "complete_till", "responsible_user_id"):
        if key in item:
            setattr(task, key, item[key])
    task.updated_by, task.updated_at = call.user_id, call.now
    return {"id": task.id, "updated_at": task.updated_at,
            "_links": self_link(call.base_url, f"/api/v4/tasks/{task.id}")}


def tasks_edit(call: ApiCall) -> Response:
    """PATCH /api/v4/tasks: an array of edits, each with `id` (how a user's "done" reaches amoCRM too)."""
    items = call.request.payload()
    return write_collection(call, "tasks", lambda c, item: _task_edit_parse(c, item),
                            lambda c, task: _task_edit_apply(c, _item_of(items, task.id), task))


def task_edit(call: ApiCall, task_id: int) -> Response:
    item = call.request.payload()
    task, errors = _task_edit_parse(call, item, task_id)
    if errors:
        raise validation_problem([{"request_id": "0", "errors": errors}])
    return hal(_task_edit_apply(call, item, task))


def _note_edit_parse(call: ApiCall, item: object, note_id: int | None = None) -> tuple[Note | None, FieldErrors]:
    errors = FieldErrors()
    if not isinstance(item, dict):
        errors.add("InvalidType", "", "This value should be of type object.")
        return None, errors
    note_id = note_id if note_id is not None else require_int(errors, item, "id")
    note = call.account.notes.get(note_id) if note_id is not None else None
    if note_id is not None and note is None:
        errors.add("NotFound", "id", "Note not found.")
    params = item.get("params")
    if params is not None and not isinstance(params, dict):
        errors.add("InvalidType", "params", "This value should be of type object.")
    if errors:
        return None, errors
    return note, errors


def _note_edit_apply(call: ApiCall, item: dict, note: Note) -> dict:
    if isinstance(item.get("params"), dict):
        note.params = {**note.params, **item["params"]}
    note.updated_at = call.now
    return {"id": note.id, "entity_id": note.entity_id, "updated_at": note.updated_at,
            "_links": self_link(call.base_url, f"/api/v4/leads/{note.entity_id}/notes/{note.id}")}


def notes_edit(call: ApiCall) -> Response:
    """PATCH /api/v4/leads/notes: an array of edits, each with `id` (a note's text edited in place)."""
    items = call.request.payload()
    return write_collection(call, "notes", lambda c, item: _note_edit_parse(c, item),
                            lambda c, note: _note_edit_apply(c, _item_of(items, note.id), note))


def _item_of(items: list, entity_id: int) -> dict:
    return next(item for item in items if isinstance(item, dict) and item.get("id") == entity_id)


ROUTES = [
    ("POST", "/api/v4/leads/notes", notes_create),
    ("GET", "/api/v4/leads/notes", notes_list),
    ("GET", "/api/v4/leads/notes/{id}", note_get),
    ("POST", "/api/v4/leads/{id}/notes", lead_notes_create),
    ("GET", "/api/v4/leads/{id}/notes", lead_notes_list),
    ("GET", "/api/v4/leads/{id}/notes/{id}", lead_note_get),
    ("POST", "/api/v4/tasks", tasks_create),
    ("GET", "/api/v4/tasks", tasks_list),
    ("GET", "/api/v4/tasks/{id}", task_get),
    ("PATCH", "/api/v4/tasks", tasks_edit),
    ("PATCH", "/api/v4/tasks/{id}", task_edit),
    ("PATCH", "/api/v4/leads/notes", notes_edit),
]
