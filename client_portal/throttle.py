"""Flood control of the public registration form: fixed windows in the shared cache (Redis in production)."""
from django.conf import settings
from django.core.cache import cache


def _hit(key: str, limit: int, window: int) -> bool:
    """Count one attempt; True while the window's count is within `limit`."""
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= limit


def registration_allowed(*, account_id: int, ip_address: str) -> bool:
    window = settings.PAYPLAN_REGISTRATION_WINDOW_SECONDS
    per_ip = _hit(f"payplan:register:{account_id}:ip:{ip_address}", settings.PAYPLAN_REGISTRATION_PER_IP, window)
    per_account = _hit(f"payplan:register:{account_id}:all", settings.PAYPLAN_REGISTRATION_PER_ACCOUNT, window)
    return per_ip and per_account
