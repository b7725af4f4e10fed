"""Text and JSON from outside, checked before anything stores or hashes it; pure Python, no Django.

PostgreSQL refuses NUL in text and jsonb, UTF-8 cannot encode a lone surrogate, and a JSON document
nested a few thousand levels deep exhausts the parser's stack: each is bad input, never a 500.
"""
import json
from collections.abc import Callable
from typing import Any

MAX_JSON_DEPTH = 32


class UntrustedInputError(ValueError):
    """The input cannot be taken; `field` names where (dotted path, "" for the whole body)."""

    def __init__(self, field: str, message: str, code: str = "malformed_json") -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


def text_problem(value: str) -> str | None:
    """Why this text cannot be stored (NUL, lone surrogate), or None when it can."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate, which is not valid Unicode text"
    return None


def printable(value: str) -> str:
    """The text with NUL and lone surrogates escaped, safe to log and to echo in an error body."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def text_check(value: str, field: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        name = printable(field)
        raise UntrustedInputError(name, f"{name or 'The text'} {problem}.", code="invalid_text")
    return value


def json_loads_untrusted(text: str, *, parse_float: Callable[[str], Any] | None = None,
                         parse_constant: Callable[[str], Any] | None = None,
                         max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads that refuses deep nesting and text PostgreSQL/UTF-8 cannot hold (UntrustedInputError)."""
    try:
        data = json.loads(text, parse_float=parse_float, parse_constant=parse_constant)
    except RecursionError as exc:
        raise UntrustedInputError("", f"The JSON body is nested deeper than {max_depth} levels.") from exc
    except ValueError as exc:
        raise UntrustedInputError("", f"The body is not valid JSON: {exc}") from exc
    _walk(data, max_depth)
    return data


def _walk(data: Any, max_depth: int) -> None:
    """Depth and text checks without recursion: the input decides how deep it goes."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            text_check(value, path)
        elif isinstance(value, dict | list):
            if depth >= max_depth:
                raise UntrustedInputError(printable(path), f"The JSON body is nested deeper than {max_depth} levels.")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                name = f"{path}.{key}" if path else str(key)
                if isinstance(key, str):
                    text_check(key, name)
                stack.append((item, name, depth + 1))
