"""Plain request/response values and the amoCRM answer shapes (hal+json, problem+json, nginx HTML)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode

HAL_JSON = "application/hal+json"
PROBLEM_JSON = "application/problem+json"
HTML = "text/html; charset=utf-8"
JSON = "application/json"


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
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None

    def payload(self) -> object:
        """The body as JSON, or a form as a flat dict; raises BadRequest when neither parses."""
        if not self.body:
            return None
        if "application/x-www-form-urlencoded" in self.headers.get("content-type", ""):
            return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as error:
            raise bad_request("Body is not valid JSON") from error


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    reset: str | None = None  # "before"/"after" applying: the connection is reset instead of answered


def connection_reset() -> Response:
    """No answer at all: the server resets the connection (status 0 in the journal)."""
    return Response(0, reset="before")


class HttpError(Exception):
    """Raised anywhere in a handler to answer with a ready response."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def hal(payload: object, status: int = 200, content_type: str = HAL_JSON) -> Response:
    return Response(status, json.dumps(payload, ensure_ascii=False).encode(), content_type)


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


class FieldErrors(list):
    """Errors of one request item, in the `validation-errors[].errors` shape."""

    def add(self, code: str, path: str, detail: str) -> None:
        self.append({"code": code, "path": path, "detail": detail})


def validation_problem(rows: list[dict]) -> HttpError:
    """400 with `validation-errors` (`[{request_id, errors}]`), as amoCRM answers bad writes."""
    return HttpError(problem(400, "Bad Request", "Request validation failed", **{"validation-errors": rows}))


def bad_request(detail: str) -> HttpError:
    return HttpError(problem(400, "Bad Request", detail))


def not_found(detail: str = "Not Found") -> HttpError:
    return HttpError(problem(404, "Not Found", detail))


def with_query(url: str, params: dict[str, object]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
