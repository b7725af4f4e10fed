"""A tiny method+path router: `{id}` matches an integer, `{entity}` a CRM entity collection name."""

from __future__ import annotations

import re
from collections.abc import Callable

from .http_io import HttpError, problem

PLACEHOLDER = re.compile(r"\{(id|entity)\}")
KINDS = {"id": (r"(\d+)", int), "entity": (r"(leads|contacts)", str)}


class Router:
    def __init__(self, routes: list[tuple[str, str, Callable]]):
        self._routes = [(method, re.compile(PLACEHOLDER.sub(lambda m: KINDS[m[1]][0], template) + "$"),
                         [KINDS[name][1] for name in PLACEHOLDER.findall(template)], handler)
                        for method, template, handler in routes]

    def match(self, method: str, path: str) -> tuple[Callable, list] | None:
        """The handler and its path arguments; None for an unknown path, 405 for a known one."""
        path_known = False
        for route_method, pattern, casts, handler in self._routes:
            found = pattern.match(path)
            if not found:
                continue
            if route_method == method:
                return handler, [cast(value) for cast, value in zip(casts, found.groups(), strict=True)]
            path_known = True
        if path_known:
            raise HttpError(problem(405, "Method Not Allowed", f"{method} is not allowed on {path}"))
        return None
