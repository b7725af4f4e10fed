"""The client's address as recorded with a consent and counted by the sign-up throttle.

Behind a reverse proxy REMOTE_ADDR is the proxy's: `PAYPLAN_TRUSTED_PROXIES` (addresses or networks, e.g.
"10.0.0.5,172.16.0.0/12"; default none) names the proxies whose X-Forwarded-For is believed. Fail closed: the
header is read only when the request comes from a listed proxy, and then from the right, skipping listed
proxies, up to the first address that is not one; a malformed entry ends the walk and REMOTE_ADDR stands.
A client can prepend anything to the header, so its leftmost entries are never taken on trust.
"""
import ipaddress
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(configured: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for entry in configured:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            continue  # a typo trusts nobody rather than everybody
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's IP address, or None when nothing valid is known."""
    remote = _address(request.META.get("REMOTE_ADDR") or "")
    if remote is None:
        return None
    trusted = _networks(tuple(getattr(settings, "PAYPLAN_TRUSTED_PROXIES", ()) or ()))
    if not trusted or not any(remote in network for network in trusted):
        return str(remote)
    chosen = remote
    for entry in reversed((request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",")):
        hop = _address(entry)
        if hop is None:
            break
        chosen = hop
        if not any(hop in network for network in trusted):
            break
    return str(chosen)
