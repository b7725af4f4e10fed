"""Plain request/response values and the amoCRM answer shapes (hal+json, problem+json, nginx HTML)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode

HAL_JSON = "application/hal+json"
PROBLEM_JSON = "application/problem+json"
HTML = "text/html; charset=utf-8"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def values(self, name: str) -> list[str]:
        """PHP-style list parameter: `name`, `name[]` and `name[N]`, comma-separated values split."""
        pattern = re.compile(re.escape(name) + r"(\[\d*\])?$")
        found = [value for key, values in self.query.items() if pattern.match(key) for value in values]
        return [part for value in found for part in value.split(",") if part]

    @property
    def with_parts(self) -> set[str]:
        return set(self.values("with"))

    @property
    def bearer(self) -> str | None:
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None

    def payload(self) -> object:
        """The body as JSON, or a form as a flat dict; raises BadRequest when neither parses."""
        if not self.body:
            return None
        if "application/x-www-form-urlencoded" in self.headers.get("content-type", ""):
            return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as error:
            raise HttpError(problem(400, "Bad Request", "Body is not valid JSON")) from error


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class HttpError(Exception):
    """Raised anywhere in a handler to answer with a ready response."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def hal(payload: object, status: int = 200) -> Response:
    return Response(status, json.dumps(payload, ensure_ascii=False).encode(), HAL_JSON)


def problem(status: int, title: str, detail: str, **extra: object) -> Response:
    body = {"title": title, "type": f"https://httpstatus.es/{status}", "status": status, "detail": detail}
    return Response(status, json.dumps({**body, **extra}, ensure_ascii=False).encode(), PROBLEM_JSON)


def html(status: int, text: str) -> Response:
    return Response(status, text.encode(), HTML)


def nginx_page(status: int, reason: str) -> Response:
    """What amoCRM's front nginx answers on limits and blocks: HTML, never JSON."""
    return html(status, f"<html><head><title>{status} {reason}</title></head><body>"
                        f"<center><h1>{status} {reason}</h1></center><hr><center>nginx</center></body></html>")


def no_content() -> Response:
    return Response(204)


def redirect(location: str) -> Response:
    return Response(302, headers={"Location": location})


def validation_error(request_id: str, code: str, path: str, detail: str) -> dict:
    return {"request_id": request_id, "errors": [{"code": code, "path": path, "detail": detail}]}


def validation_problem(errors: list[dict]) -> HttpError:
    """400 with `validation-errors`, one entry per request item, as amoCRM answers bad writes."""
    merged: dict[str, list[dict]] = {}
    for item in errors:
        merged.setdefault(item["request_id"], []).extend(item["errors"])
    rows = [{"request_id": request_id, "errors": found} for request_id, found in merged.items()]
    return HttpError(problem(400, "Bad Request", "Request validation failed", **{"validation-errors": rows}))


def not_found(detail: str = "Not Found") -> HttpError:
    return HttpError(problem(404, "Not Found", detail))


def with_query(url: str, params: dict[str, object]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
