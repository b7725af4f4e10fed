"""Portal REST methods with Bitrix24's field conventions (contract §5): upper-case keys, numbers and ids
as strings in crm.deal.*, camelCase in tasks.*, `Not found` with an empty `error`, batch with `$result`."""
from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qsl

from .state import ADMIN_USER_ID, CATEGORIES, STAGES, Portal, RestError, State, deal_row, iso, stage_semantics

PAGE = 50
Method = Callable[[State, Portal, int, dict], object]
EVENT_NAMES = {"ONCRMDEALUPDATE", "ONCRMDEALADD", "ONCRMDEALDELETE", "ONAPPUNINSTALL", "ONAPPUPDATE",
               "ONCRMCONTACTUPDATE"}
PLACEMENTS = {"CRM_DEAL_DETAIL_TAB", "CRM_DEAL_DETAIL_ACTIVITY", "CRM_DEAL_DETAIL_TOOLBAR", "DEFAULT"}
UF_NAME = re.compile(r"^[A-Z0-9_]{1,43}$")


class Listed:
    """A list answer: the page plus `total`/`next` (omitted with start=-1)."""

    def __init__(self, rows: list, total: int | None, next_start: int | None) -> None:
        self.rows, self.total, self.next_start = rows, total, next_start


def php_parse(query: str) -> dict:
    """`fields[TITLE]=x&ids[0]=1` → {"fields": {"TITLE": "x"}, "ids": ["1"]} (PHP's parse_str)."""
    result: dict = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        parts = re.findall(r"\[([^\]]*)\]", key)
        head = key.split("[", 1)[0]
        node = result
        path = [head, *parts]
        for index, part in enumerate(path):
            last = index == len(path) - 1
            if part == "":
                part = str(len(node))
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(result)


def _lists(node):
    if isinstance(node, dict):
        node = {key: _lists(value) for key, value in node.items()}
        if node and all(key.isdigit() for key in node) and sorted(map(int, node)) == list(range(len(node))):
            return [node[str(index)] for index in range(len(node))]
    return node


def _param(params: dict, name: str, default=None):
    """Lower-case names, upper-case tolerated (older methods) — except where a method is strict."""
    return params.get(name, params.get(name.upper(), default))


def _int_id(raw) -> int:
    text = str(raw or "")
    if not text.isdigit():
        raise RestError(400, "", "ID is not defined or invalid.")
    return int(text)


def _deal(portal: Portal, params: dict) -> dict:
    deal = portal.deals.get(_int_id(_param(params, "id")))
    if deal is None:
        raise RestError(400, "", "Not found")
    return deal


# --- crm.deal.* --------------------------------------------------------------------------------------
def deal_get(state, portal, user_id, params):
    deal = _deal(portal, params)
    return {**deal, **{uf["FIELD_NAME"]: deal.get(uf["FIELD_NAME"]) for uf in portal.userfields}}


def deal_list(state, portal, user_id, params):
    rows = sorted(portal.deals.values(), key=lambda row: int(row["ID"]))
    for key, value in (_param(params, "filter") or {}).items():
        if key.startswith(">"):
            rows = [row for row in rows if int(row.get(key[1:]) or 0) > int(value)]
        elif key.startswith("@"):
            wanted = {str(item) for item in (value if isinstance(value, list) else [value])}
            rows = [row for row in rows if str(row.get(key[1:])) in wanted]
        else:
            rows = [row for row in rows if str(row.get(key.lstrip("="))) == str(value)]
    return _page(rows, params)


def _page(rows: list, params: dict) -> Listed:
    start = int(_param(params, "start", 0) or 0)
    if start == -1:
        return Listed(rows[:PAGE], None, None)
    page = rows[start:start + PAGE]
    return Listed(page, len(rows), start + PAGE if start + PAGE < len(rows) else None)


def deal_add(state, portal, user_id, params):
    fields = _param(params, "fields") or {}
    deal_id = state.next_id()
    category = str(fields.get("CATEGORY_ID") or "0")
    stage = str(fields.get("STAGE_ID") or STAGES.get(category, STAGES["0"])[0][0])
    portal.deals[deal_id] = deal_row(deal_id, str(fields.get("TITLE") or ""), category, stage,
                                     str(fields.get("OPPORTUNITY") or "0.00"), str(fields.get("CONTACT_ID") or ""),
                                     state.now())
    state.emit(portal, "ONCRMDEALADD", deal_id, user_id)
    return deal_id


def deal_update(state, portal, user_id, params):
    deal = _deal(portal, params)
    fields = _param(params, "fields") or {}
    known_uf = {uf["FIELD_NAME"] for uf in portal.userfields}
    for key, value in fields.items():
        if key == "STAGE_ID":
            if not any(code == value for code, _, _ in STAGES.get(deal["CATEGORY_ID"], [])):
                continue  # an invalid stage is ignored silently, as reported of real portals
            deal["STAGE_ID"] = value
            deal["STAGE_SEMANTIC_ID"] = stage_semantics(deal["CATEGORY_ID"], value)
            deal["CLOSED"] = "Y" if deal["STAGE_SEMANTIC_ID"] in ("S", "F") else "N"
        elif key == "CATEGORY_ID":
            continue  # cannot be changed here (crm.item.update)
        elif key in deal or key in known_uf or key in ("ASSIGNED_BY_ID", "TITLE", "OPPORTUNITY"):
            deal[key] = str(value) if value is not None else ""
        # unknown keys: ignored silently
    deal["DATE_MODIFY"] = iso(state.now())
    state.emit(portal, "ONCRMDEALUPDATE", int(deal["ID"]), user_id)
    return True


def deal_delete(state, portal, user_id, params):
    deal = _deal(portal, params)
    del portal.deals[int(deal["ID"])]
    state.emit(portal, "ONCRMDEALDELETE", int(deal["ID"]), user_id)
    return True


def deal_fields(state, portal, user_id, params):
    base = {name: {"type": "string", "isRequired": False, "title": name} for name in
            ("ID", "TITLE", "STAGE_ID", "CATEGORY_ID", "OPPORTUNITY", "CURRENCY_ID", "ASSIGNED_BY_ID")}
    return base | {uf["FIELD_NAME"]: {"type": uf["USER_TYPE_ID"], "isRequired": False,
                                      "title": uf["FIELD_NAME"]} for uf in portal.userfields}


def userfield_add(state, portal, user_id, params):
    fields = _param(params, "fields") or {}
    code = str(fields.get("FIELD_NAME") or "")
    name = code if code.startswith("UF_CRM_") else f"UF_CRM_{code}"
    if not UF_NAME.match(code) or len(name) > 50:
        raise RestError(400, "ERROR_CORE", "Invalid FIELD_NAME")
    if any(uf["FIELD_NAME"] == name for uf in portal.userfields):
        raise RestError(400, "ERROR_CORE", "A field with this name already exists")
    row = {"ID": str(state.next_id()), "ENTITY_ID": "CRM_DEAL", "FIELD_NAME": name,
           "USER_TYPE_ID": str(fields.get("USER_TYPE_ID") or "string"), "XML_ID": fields.get("XML_ID"),
           "MULTIPLE": fields.get("MULTIPLE", "N"), "MANDATORY": fields.get("MANDATORY", "N"),
           "EDIT_FORM_LABEL": fields.get("EDIT_FORM_LABEL")}
    portal.userfields.append(row)
    return int(row["ID"])


def userfield_list(state, portal, user_id, params):
    rows = list(portal.userfields)
    for key, value in (_param(params, "filter") or {}).items():
        if key.startswith("%"):
            rows = [row for row in rows if str(value) in str(row.get(key[1:]))]
        else:
            rows = [row for row in rows if str(row.get(key)) == str(value)]
    return rows


def contact_update(state, portal, user_id, params):
    contact = contact_get(state, portal, user_id, params)
    for key, value in (_param(params, "fields") or {}).items():
        if key in ("NAME", "LAST_NAME", "PHONE", "EMAIL"):
            contact[key] = value
    return True


def contact_get(state, portal, user_id, params):
    contact = portal.contacts.get(_int_id(_param(params, "id")))
    if contact is None:
        raise RestError(400, "", "Not found")
    return contact


# --- pipelines and stages ------------------------------------------------------------------------------
def category_list(state, portal, user_id, params):
    if str(params.get("entityTypeId")) != "2":
        raise RestError(400, "NOT_FOUND", "Smart process not found")
    return {"categories": [{"id": int(key), "name": name, "sort": 100 * (int(key) + 1), "entityTypeId": 2,
                            "isDefault": "Y" if key == "0" else "N"} for key, name in CATEGORIES.items()]}


def dealcategory_list(state, portal, user_id, params):
    return Listed([{"ID": key, "NAME": name, "SORT": "100"} for key, name in CATEGORIES.items() if key != "0"],
                  len(CATEGORIES) - 1, None)


def _stage_rows(category: str) -> list[dict]:
    return [{"ID": str(index + 1), "ENTITY_ID": "DEAL_STAGE" if category == "0" else f"DEAL_STAGE_{category}",
             "STATUS_ID": code, "NAME": name, "SORT": str(10 * (index + 1)), "SEMANTICS": semantics,
             "CATEGORY_ID": category, "EXTRA": {"SEMANTICS": {"S": "success", "F": "failure"}.get(semantics or "",
                                                                                                 "process")}}
            for index, (code, name, semantics) in enumerate(STAGES.get(category, []))]


def dealcategory_stage_list(state, portal, user_id, params):
    return _stage_rows(str(_param(params, "id") or "0"))


def status_list(state, portal, user_id, params):
    entity = str((_param(params, "filter") or {}).get("ENTITY_ID") or "")
    if entity == "DEAL_STAGE":
        return _stage_rows("0")
    match = re.fullmatch(r"DEAL_STAGE_(\d+)", entity)
    return _stage_rows(match[1]) if match else []


# --- timeline, to-dos, tasks, notifications ----------------------------------------------------------
def comment_add(state, portal, user_id, params):
    if "fields" not in params:  # since crm 23.100: only lower-case `fields`
        raise RestError(400, "INVALID_ARG_VALUE", "Parameter 'fields' is required")
    fields = params["fields"] or {}
    deal_id = _int_id(fields.get("ENTITY_ID"))
    if str(fields.get("ENTITY_TYPE") or "").lower() != "deal":
        raise RestError(400, "INVALID_ARG_VALUE", "ENTITY_TYPE must be deal in this sandbox")
    if deal_id not in portal.deals:
        raise RestError(400, "OWNER_NOT_FOUND", "Owner not found")
    if not str(fields.get("COMMENT") or "").strip():
        raise RestError(400, "INVALID_ARG_VALUE", "COMMENT is empty")
    comment_id = state.next_id()
    portal.comments[comment_id] = {"ID": str(comment_id), "ENTITY_ID": str(deal_id), "ENTITY_TYPE": "deal",
                                   "COMMENT": str(fields["COMMENT"]), "AUTHOR_ID": str(user_id),
                                   "CREATED": iso(state.now())}
    return comment_id


def comment_update(state, portal, user_id, params):
    comment = portal.comments.get(_int_id(params.get("id")))
    if comment is None:
        raise RestError(400, "NOT_FOUND", "Comment not found")
    comment["COMMENT"] = str((params.get("fields") or {}).get("COMMENT") or comment["COMMENT"])
    return comment_id_int(comment)


def comment_id_int(comment: dict) -> int:
    return int(comment["ID"])


def comment_list(state, portal, user_id, params):
    wanted = str((params.get("filter") or {}).get("ENTITY_ID") or "")
    rows = [row for row in portal.comments.values() if not wanted or row["ENTITY_ID"] == wanted]
    return _page(rows, params)


def todo_add(state, portal, user_id, params):
    if str(params.get("ownerTypeId")) != "2" or _int_id(params.get("ownerId")) not in portal.deals:
        raise RestError(400, "OWNER_NOT_FOUND", "Owner not found")
    todo_id = state.next_id()
    portal.todos[todo_id] = {"id": todo_id, **{key: params.get(key) for key in
                                               ("ownerId", "deadline", "title", "description", "responsibleId")}}
    return {"id": todo_id}


def task_add(state, portal, user_id, params):
    fields = _param(params, "fields") or {}
    if not str(fields.get("TITLE") or "").strip() or not str(fields.get("RESPONSIBLE_ID") or "").isdigit():
        raise RestError(400, "ERROR_CORE", "TITLE and RESPONSIBLE_ID are required")
    task_id = state.next_id()
    portal.tasks[task_id] = {"id": str(task_id), "title": str(fields["TITLE"]),
                             "description": str(fields.get("DESCRIPTION") or ""),
                             "responsibleId": str(fields["RESPONSIBLE_ID"]), "deadline": fields.get("DEADLINE"),
                             "createdBy": str(fields.get("CREATED_BY") or user_id), "status": "2",
                             "ufCrmTask": list(fields.get("UF_CRM_TASK") or []), "closedBy": None,
                             "closedDate": None, "createdDate": iso(state.now())}
    return {"task": dict(portal.tasks[task_id])}


def task_get(state, portal, user_id, params):
    task = portal.tasks.get(_int_id(params.get("taskId")))
    if task is None:
        raise RestError(400, "ERROR_CORE", "Task not found or not accessible")
    return {"task": dict(task)}


def task_list(state, portal, user_id, params):
    filters = params.get("filter") or {}
    wanted = filters.get("ID")
    rows = list(portal.tasks.values())
    if wanted is not None:
        ids = {str(item) for item in (wanted if isinstance(wanted, list) else [wanted])}
        rows = [row for row in rows if row["id"] in ids]
    if filters.get("UF_CRM_TASK"):
        rows = [row for row in rows if str(filters["UF_CRM_TASK"]) in row["ufCrmTask"]]
    if filters.get("TITLE"):
        rows = [row for row in rows if row["title"] == str(filters["TITLE"])]
    listed = _page(rows, params)
    return Listed({"tasks": listed.rows}, listed.total, listed.next_start)


def task_complete(state, portal, user_id, params):
    task = portal.tasks.get(_int_id(params.get("taskId")))
    if task is None:
        raise RestError(400, "ERROR_CORE", "Task not found or not accessible")
    task.update(status="5", closedBy=str(user_id), closedDate=iso(state.now()))
    return {"task": dict(task)}


def notify_add(state, portal, user_id, params):
    portal.notifications.append({"USER_ID": params.get("USER_ID"), "MESSAGE": params.get("MESSAGE"),
                                 "TAG": params.get("TAG")})
    return len(portal.notifications)


# --- smart processes and crm.item.* (deals as entityTypeId 2, camelCase keys, numbers as numbers) -----------
ITEM_KEYS = {"ID": "id", "TITLE": "title", "STAGE_ID": "stageId", "CATEGORY_ID": "categoryId",
             "OPPORTUNITY": "opportunity", "CURRENCY_ID": "currencyId", "ASSIGNED_BY_ID": "assignedById",
             "CONTACT_ID": "contactId", "DATE_MODIFY": "updatedTime", "CLOSED": "closed"}
NUMERIC_ITEM_KEYS = {"id", "categoryId", "assignedById", "contactId"}


def _item(deal: dict) -> dict:
    item = {}
    for upper, camel in ITEM_KEYS.items():
        value = deal.get(upper)
        if camel in NUMERIC_ITEM_KEYS:
            value = int(value) if str(value or "").isdigit() else None
        elif camel == "opportunity":
            value = float(value or 0)
        item[camel] = value
    return item


def _deal_type(params: dict) -> None:
    if str(params.get("entityTypeId")) != "2":
        raise RestError(400, "NOT_FOUND", "Smart process not found")


def item_get(state, portal, user_id, params):
    _deal_type(params)
    return {"item": _item(_deal(portal, params))}


def item_list(state, portal, user_id, params):
    _deal_type(params)
    listed = _page([_item(deal) for deal in sorted(portal.deals.values(), key=lambda row: int(row["ID"]))], params)
    return Listed({"items": listed.rows}, listed.total, listed.next_start)


def item_update(state, portal, user_id, params):
    _deal_type(params)
    fields = params.get("fields") or {}
    upper = {key: fields[camel] for key, camel in ITEM_KEYS.items() if camel in fields and key not in ("ID",)}
    deal_update(state, portal, user_id, {"id": params.get("id"), "fields": upper})
    return {"item": _item(_deal(portal, params))}


def type_add(state, portal, user_id, params):
    fields = params.get("fields") or {}
    entity_type_id = int(fields.get("entityTypeId") or 1030 + 2 * len(state.smart_types))
    if entity_type_id % 2 or not (entity_type_id >= 1030 or 128 <= entity_type_id <= 192):
        raise RestError(400, "ERROR_ARGUMENT", "entityTypeId must be even and >= 1030 or in 128..192")
    row = {"id": len(state.smart_types) + 1, "entityTypeId": entity_type_id, "title": str(fields.get("title") or "")}
    state.smart_types.append(row)
    return {"type": row}


def type_list(state, portal, user_id, params):
    return Listed({"types": list(state.smart_types)}, len(state.smart_types), None)


# --- app, user, placements, events --------------------------------------------------------------------
def app_info(state, portal, user_id, params):
    return {"ID": "1", "CODE": state.client_id, "VERSION": "1", "STATUS": portal.plan_status,
            "INSTALLED": portal.install_finished, "PAYMENT_EXPIRED": "N", "DAYS": None, "LICENSE": "ru_project"}


def user_current(state, portal, user_id, params):
    return {"ID": str(user_id), "NAME": "Администратор" if user_id == 1 else "Менеджер", "ADMIN": user_id == 1}


# The portal's people (user.get, scope user_brief): the admin who installs the app and a manager.
USERS = [{"ID": "1", "NAME": "Анна", "LAST_NAME": "Админова", "EMAIL": "admin@lawyers.example", "ACTIVE": True},
         {"ID": "7", "NAME": "Михаил", "LAST_NAME": "Менеджеров", "EMAIL": "manager@lawyers.example",
          "ACTIVE": True},
         {"ID": "9", "NAME": "Ольга", "LAST_NAME": "Бухгалтерова", "EMAIL": "buh@lawyers.example", "ACTIVE": True}]


def user_get(state, portal, user_id, params):
    wanted = str((_param(params, "filter") or {}).get("ID") or _param(params, "ID") or "")
    rows = [dict(row) for row in USERS if not wanted or row["ID"] == wanted]
    return Listed(rows, len(rows), None)


def user_admin(state, portal, user_id, params):
    return user_id == ADMIN_USER_ID


def placement_bind(state, portal, user_id, params):
    code, handler = str(_param(params, "PLACEMENT") or ""), str(_param(params, "HANDLER") or "")
    if code not in PLACEMENTS:
        raise RestError(400, "ERROR_PLACEMENT_NOT_FOUND", "Placement not found")
    if not handler.startswith(("http://", "https://")):
        raise RestError(400, "ERROR_WRONG_HANDLER_URL", "Wrong handler URL")
    if any(row["placement"] == code and row["handler"] == handler for row in portal.placements):
        raise RestError(400, "ERROR_PLACEMENT_HANDLER_EXISTS", "Handler already binded")
    portal.placements.append({"placement": code, "handler": handler, "title": str(_param(params, "TITLE") or ""),
                              "options": _param(params, "OPTIONS") or {}})
    return True


def placement_get(state, portal, user_id, params):
    return [dict(row) for row in portal.placements]


def placement_unbind(state, portal, user_id, params):
    code, handler = str(_param(params, "PLACEMENT") or ""), _param(params, "HANDLER")
    before = len(portal.placements)
    portal.placements = [row for row in portal.placements
                         if not (row["placement"] == code and (handler is None or row["handler"] == handler))]
    return {"count": before - len(portal.placements)}


def event_bind(state, portal, user_id, params):
    name, handler = str(_param(params, "event") or "").upper(), str(_param(params, "handler") or "")
    if name not in EVENT_NAMES:
        raise RestError(400, "ERROR_EVENT_NOT_FOUND", "Event not found")
    if any(row["event"] == name and row["handler"] == handler for row in portal.events):
        raise RestError(400, "ERROR_CORE", "Handler already binded")
    portal.events.append({"event": name, "handler": handler, "auth_type": str(params.get("auth_type") or "0"),
                          "offline": 1 if params.get("event_type") == "offline" else 0, "id": state.next_id()})
    return True


def event_get(state, portal, user_id, params):
    return [dict(row) for row in portal.events]


def event_unbind(state, portal, user_id, params):
    name, handler = str(_param(params, "event") or "").upper(), _param(params, "handler")
    before = len(portal.events)
    portal.events = [row for row in portal.events
                     if not (row["event"] == name and (handler is None or row["handler"] == handler))]
    return {"count": before - len(portal.events)}


METHODS: dict[str, Method] = {
    "crm.deal.get": deal_get, "crm.deal.list": deal_list, "crm.deal.add": deal_add, "crm.deal.update": deal_update,
    "crm.deal.delete": deal_delete, "crm.deal.fields": deal_fields,
    "crm.deal.userfield.add": userfield_add, "crm.deal.userfield.list": userfield_list,
    "crm.contact.get": contact_get, "crm.contact.update": contact_update,
    "crm.category.list": category_list, "crm.dealcategory.list": dealcategory_list,
    "crm.dealcategory.stage.list": dealcategory_stage_list, "crm.status.list": status_list,
    "crm.timeline.comment.add": comment_add, "crm.timeline.comment.update": comment_update,
    "crm.timeline.comment.list": comment_list, "crm.activity.todo.add": todo_add,
    "tasks.task.add": task_add, "tasks.task.get": task_get, "tasks.task.list": task_list,
    "tasks.task.complete": task_complete, "im.notify.system.add": notify_add,
    "crm.item.get": item_get, "crm.item.list": item_list, "crm.item.update": item_update,
    "crm.type.add": type_add, "crm.type.list": type_list,
    "app.info": app_info, "user.current": user_current, "user.admin": user_admin,
    "user.get": user_get,
    "placement.bind": placement_bind, "placement.get": placement_get, "placement.unbind": placement_unbind,
    "event.bind": event_bind, "event.get": event_get, "event.unbind": event_unbind,
}


def run(state: State, portal: Portal, user_id: int, method: str, params: dict) -> object:
    handler = METHODS.get(method)
    if handler is None:
        raise RestError(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
    with state.lock:
        return handler(state, portal, user_id, params)


# --- batch ---------------------------------------------------------------------------------------------
RESULT_REF = re.compile(r"\$result\[([^\]]+)\]((?:\[[^\]]*\])*)")


def batch(state: State, portal: Portal, user_id: int, params: dict) -> dict:
    commands = params.get("cmd") or {}
    if not isinstance(commands, dict):
        raise RestError(400, "INVALID_REQUEST", "cmd must be a map")
    if len(commands) > 50:
        raise RestError(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")
    halt = str(params.get("halt", "0")) in ("1", "true", "True")
    results, errors, totals, nexts = {}, {}, {}, {}
    for key, command in commands.items():
        method, _, query = str(command).partition("?")
        if method == "batch":
            errors[key] = {"error": "ERROR_BATCH_METHOD_NOT_ALLOWED", "error_description": "Method is not allowed"}
        else:
            inner = php_parse(_substitute(query, results))
            try:
                answer = run(state, portal, user_id, method, inner)
            except RestError as error:
                errors[key] = {"error": error.code, "error_description": error.description}
            else:
                if isinstance(answer, Listed):
                    results[key] = answer.rows
                    if answer.total is not None:
                        totals[key] = answer.total
                    if answer.next_start is not None:
                        nexts[key] = answer.next_start
                else:
                    results[key] = answer
        if halt and key in errors:
            break
    return {"result": results, "result_error": errors, "result_total": totals, "result_next": nexts,
            "result_time": {}}


def _substitute(query: str, results: dict) -> str:
    """`$result[k1][ASSIGNED_BY_ID]` (URL-encoded or not) → the value an earlier command returned."""
    from urllib.parse import quote, unquote_plus

    def value(match: re.Match) -> str:
        node = results.get(match[1])
        for part in re.findall(r"\[([^\]]*)\]", match[2]):
            node = node.get(part) if isinstance(node, dict) else (
                node[int(part)] if isinstance(node, list) and part.isdigit() and int(part) < len(node) else None)
        return str(node if node is not None else "")

    pairs = []
    for name, _, raw in (pair.partition("=") for pair in query.split("&") if pair):
        plain = unquote_plus(raw)
        pairs.append(f"{name}={quote(RESULT_REF.sub(value, plain), safe='') if '$result' in plain else raw}")
    return "&".join(pairs)
