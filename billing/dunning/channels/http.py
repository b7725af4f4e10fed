"""One place that turns requests' failures into typed channel errors, with timeouts from settings."""
from typing import Any

import requests
from django.conf import settings
from django.utils.translation import gettext_noop

from billing.dunning.channels.base import PermanentChannelError, TemporaryChannelError


def call(method: str, url: str, *, provider: str, **kwargs: Any) -> tuple[int, dict]:
    """(status, JSON body) of a provider call; network trouble and 5xx raise TemporaryChannelError."""
    timeout = (settings.DUNNING_HTTP_CONNECT_TIMEOUT, settings.DUNNING_HTTP_READ_TIMEOUT)
    try:
        response = requests.request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout as exc:
        raise TemporaryChannelError(gettext_noop("%(provider)s: no answer in time"), provider=provider) from exc
    except requests.RequestException as exc:
        raise TemporaryChannelError(gettext_noop("%(provider)s: no connection (%(error)s)"), provider=provider,
                                    error=type(exc).__name__) from exc
    if response.status_code >= 500:
        raise TemporaryChannelError("%(provider)s: HTTP %(status)s", provider=provider, status=response.status_code)
    try:
        body = response.json()
    except ValueError as exc:
        if response.status_code == 429:
            raise TemporaryChannelError(gettext_noop("%(provider)s: too many requests (HTTP 429)"),
                                        provider=provider) from exc
        raise PermanentChannelError(gettext_noop("%(provider)s: an unreadable answer, HTTP %(status)s"),
                                    provider=provider, status=response.status_code) from exc
    return response.status_code, body if isinstance(body, dict) else {}
