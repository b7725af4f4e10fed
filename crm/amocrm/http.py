"""HTTP details shared by the OAuth calls and the API client: timeouts, User-Agent, error text."""
import requests
from django.conf import settings

USER_AGENT = "PayPlan/1.0 (amoCRM integration)"
MAX_ERROR_TEXT = 500


def timeouts() -> tuple[float, float]:
    return settings.AMOCRM_CONNECT_TIMEOUT, settings.AMOCRM_READ_TIMEOUT


def problem_message(response: requests.Response) -> str:
    """What amoCRM said, from a problem+json body when there is one (a 403 block or 429 is HTML)."""
    if "json" in response.headers.get("Content-Type", ""):
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            parts = [str(body[name]) for name in ("title", "detail", "hint") if body.get(name)]
            if parts:
                return ": ".join(dict.fromkeys(parts))[:MAX_ERROR_TEXT]
    return (response.reason or "error")[:MAX_ERROR_TEXT]
