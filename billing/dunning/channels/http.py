"""One place that turns requests' failures into typed channel errors, with timeouts from settings."""
from typing import Any

import requests
from django.conf import settings

from billing.dunning.channels.base import PermanentChannelError, TemporaryChannelError


def call(method: str, url: str, *, provider: str, **kwargs: Any) -> tuple[int, dict]:
    """(status, JSON body) of a provider call; network trouble and 5xx raise TemporaryChannelError."""
    timeout = (settings.DUNNING_HTTP_CONNECT_TIMEOUT, settings.DUNNING_HTTP_READ_TIMEOUT)
    try:
        response = requests.request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout as exc:
        raise TemporaryChannelError(f"{provider}: нет ответа вовремя") from exc
    except requests.RequestException as exc:
        raise TemporaryChannelError(f"{provider}: нет соединения ({type(exc).__name__})") from exc
    if response.status_code >= 500:
        raise TemporaryChannelError(f"{provider}: HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        if response.status_code == 429:
            raise TemporaryChannelError(f"{provider}: слишком много запросов (HTTP 429)") from exc
        raise PermanentChannelError(f"{provider}: непонятный ответ, HTTP {response.status_code}") from exc
    return response.status_code, body if isinstance(body, dict) else {}
