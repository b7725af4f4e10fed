"""Outgoing HTTP of the sandbox (install hook, webhooks): loopback addresses only, bounded, no redirects."""

from __future__ import annotations

import ipaddress
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_TIMEOUT_SECONDS = 10.0


def is_loopback_url(url: object) -> bool:
    """True for http(s) URLs on 127.0.0.0/8, ::1 or localhost: the only places the sandbox may call."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and is_loopback_host(parts.hostname or "")


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect could point anywhere; the sandbox reports it instead of following it.
    def redirect_request(self, *args, **kwargs):
        return None


# No ProxyHandler entries: an HTTP(S)_PROXY in the environment must not divert loopback calls.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


@dataclass(frozen=True)
class Delivery:
    method: str
    url: str
    body: str
    status: int | None
    error: str | None


def send(method: str, url: str, *, body: str = "", content_type: str | None = None,
         timeout: float = 3.0) -> Delivery:
    """One attempt, never retried (amoCRM does not retry hooks); refuses non-loopback URLs."""
    if not is_loopback_url(url):
        return Delivery(method, url, body, None, "refused: not a loopback URL")
    headers = {"User-Agent": "amoCRM-sandbox/1.0"}
    if content_type:
        headers["Content-Type"] = content_type
    # S310: the scheme is limited to http(s) by is_loopback_url above.
    request = urllib.request.Request(url, data=body.encode() if body else None, headers=headers,  # noqa: S310
                                     method=method)
    try:
        with _opener.open(request, timeout=min(timeout, MAX_TIMEOUT_SECONDS)) as answer:
            return Delivery(method, url, body, answer.status, None)
    except urllib.error.HTTPError as error:
        return Delivery(method, url, body, error.code, None)
    except (OSError, ValueError) as error:
        return Delivery(method, url, body, None, f"{type(error).__name__}: {error}")
