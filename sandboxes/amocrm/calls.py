"""One authenticated /api/v4 call and the list/write shapes every collection endpoint shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from .http_io import FieldErrors, Request, Response, bad_request, hal, no_content, validation_problem
from .models import Account
from .render import self_link
from .webhooks import LeadChange

DEFAULT_LIMIT = 50
MAX_LIMIT = 250


@dataclass
class ApiCall:
    request: Request
    account: Account
    user_id: int
    base_url: str
    now: int
    # leads written by this call; the app turns them into webhooks once the answer is ready
    lead_changes: list[LeadChange] = field(default_factory=list)

    @property
    def is_admin(self) -> bool:
        user = self.account.users.get(self.user_id)
        return bool(user and user.is_admin)

    def int_values(self, name: str) -> set[int]:
        try:
            return {int(value) for value in self.request.values(name)}
        except ValueError as error:
            raise bad_request(f"{name} must hold integers") from error

    def int_arg(self, name: str, default: int) -> int:
        raw = self.request.arg(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError as error:
            raise bad_request(f"{name} must be an integer") from error


def listing(call: ApiCall, key: str, rows: list[dict]) -> Response:
    """An unpaged list (pipelines, statuses, webhooks); empty -> 204 like every amoCRM list."""
    if not rows:
        return no_content()
    return hal({"_total_items": len(rows), "_links": self_link(call.base_url, call.request.path),
                "_embedded": {key: rows}})


def page(call: ApiCall, key: str, rows: list[dict]) -> Response:
    """`page`/`limit` paging with `_links.next` only while more rows exist; a page past the end -> 204."""
    number = call.int_arg("page", 1)
    # amoCRM caps `limit` at 250; asking for more quietly gets 250 here (the real answer is unconfirmed).
    limit = min(call.int_arg("limit", DEFAULT_LIMIT), MAX_LIMIT)
    if number < 1 or limit < 1:
        raise bad_request("page and limit must be positive")
    start = (number - 1) * limit
    chunk = rows[start:start + limit]
    if not chunk:
        return no_content()
    links = {"self": {"href": _page_href(call, number, limit)}}
    if number > 1:
        links["prev"] = {"href": _page_href(call, number - 1, limit)}
    if start + limit < len(rows):
        links["next"] = {"href": _page_href(call, number + 1, limit)}
    return hal({"_page": number, "_links": links, "_embedded": {key: chunk}})


def _page_href(call: ApiCall, number: int, limit: int) -> str:
    kept = [(name, value) for name, values in call.request.query.items() if name not in ("page", "limit")
            for value in values]
    query = urlencode([*kept, ("page", number), ("limit", limit)])
    return f"{call.base_url}{call.request.path}?{query}"


Parse = Callable[[ApiCall, object], tuple[object, FieldErrors]]
Commit = Callable[[ApiCall, object], dict]


def write_collection(call: ApiCall, key: str, parse: Parse, commit: Commit) -> Response:
    """A collection write: a JSON array, every item validated before any is stored, `request_id` echoed."""
    items = call.request.payload()
    if not isinstance(items, list) or not items:
        raise bad_request("Body must be a non-empty JSON array")
    if len(items) > MAX_LIMIT:
        raise bad_request(f"At most {MAX_LIMIT} items per request")
    parsed, failed = [], []
    for index, item in enumerate(items):
        request_id = str(item.get("request_id", index)) if isinstance(item, dict) else str(index)
        value, errors = parse(call, item)
        if errors:
            failed.append({"request_id": request_id, "errors": errors})
        parsed.append((request_id, value))
    if failed:
        raise validation_problem(failed)
    rows = [{**commit(call, value), "request_id": request_id} for request_id, value in parsed]
    return hal({"_links": self_link(call.base_url, call.request.path), "_embedded": {key: rows}})


def require_int(errors: FieldErrors, item: dict, name: str, *, required: bool = True) -> int | None:
    """An integer item field, or None after recording why it is missing or of the wrong type."""
    value = item.get(name)
    if value is None:
        if required:
            errors.add("FieldMissing", name, "This field is missing.")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add("InvalidType", name, "This value should be of type int.")
        return None
    return value
