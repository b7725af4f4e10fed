"""The adapter's settings, each with a default, so the app runs without a settings block of its own.

BITRIX24_CLIENT_ID / _SECRET      the app's OAuth pair (local.… or app.…); the secret goes only to the oauth server
BITRIX24_OAUTH_URL                the authorization server (tokens, app.info); a loopback sandbox in tests/demo
BITRIX24_ALLOW_LOOPBACK           accept loopback portal hosts over http (the sandbox); None = only in demo mode
BITRIX24_BUCKET_CAPACITY / _DRAIN_RPS   our share of the portal's leaky bucket (X=50, Y=2 on standard plans;
                                  apps on one IP share it, so we stay below X)
"""
from django.conf import settings

DEFAULTS = {
    "BITRIX24_CLIENT_ID": "local.payplan0000000001.00000001",
    "BITRIX24_CLIENT_SECRET": "payplan-local-bitrix24-client-secret",
    "BITRIX24_OAUTH_URL": "https://oauth.bitrix.info",
    "BITRIX24_ALLOW_LOOPBACK": None,
    "BITRIX24_BUCKET_CAPACITY": 40.0,
    "BITRIX24_BUCKET_DRAIN_RPS": 2.0,
    "BITRIX24_CONNECT_TIMEOUT": 5.0,
    "BITRIX24_READ_TIMEOUT": 60.0,  # a cloud call is cut off at 60 s
    "BITRIX24_MAX_WAIT_SECONDS": 60.0,  # how long one call may wait for the bucket or a busy refresh
    "BITRIX24_REFRESH_CLAIM_SECONDS": 90,  # a refresher's claim lapses after this (its worker died)
    "BITRIX24_REDIS_PREFIX": "payplan:bitrix24",
    "BITRIX24_EVENT_MAX_BYTES": 64 * 1024,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])


def loopback_allowed() -> bool:
    allowed = get("BITRIX24_ALLOW_LOOPBACK")
    return bool(settings.PAYPLAN_DEMO) if allowed is None else bool(allowed)
