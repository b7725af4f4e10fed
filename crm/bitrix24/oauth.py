"""Bitrix24 OAuth 2.0 (contract §2): portal hosts we accept, the token endpoint, app.info checks, and
one refresh per portal at a time.

A refresh returns a new pair and kills the old one; two workers refreshing with the same refresh token
leave the loser with `invalid_grant` and the portal dead until a user reopens the app. So a refresh is
claimed on the portal's row (lock, write the claim, commit), the oauth server is called with no lock
held, and the new pair is stored under a second lock only by the claim's owner. Workers that find a
live claim wait for it and then use the pair it stored.
"""
import ipaddress
import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from django.db import models, transaction
from django.utils import timezone

from billing.transactions import assert_no_transaction
from crm.bitrix24 import conf
from crm.bitrix24.errors import (
    AuthRefused,
    Blocked,
    NotSent,
    PortalUninstalled,
    ReinstallNeeded,
    Rejected,
    Transient,
)
from crm.bitrix24.models import Portal

logger = logging.getLogger(__name__)

USER_AGENT = "PayPlan/1.0 (Bitrix24 app)"
# Cloud portals: name.bitrix24.ru, .by, .kz, .com, .de, .com.br, ... (zones vary; box installs are not accepted).
CLOUD_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.bitrix24\.(?:[a-z]{2,4}|com\.[a-z]{2})$")
WAIT_STEP_SECONDS = 0.05


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    member_id: str = ""
    scope: str = ""
    user_id: int | None = None


def timeouts() -> tuple[float, float]:
    return float(conf.get("BITRIX24_CONNECT_TIMEOUT")), float(conf.get("BITRIX24_READ_TIMEOUT"))


def host_normalize(raw: str) -> str:
    """A portal host as sent (`DOMAIN`, `auth[domain]`, a `Location`) → lower-case host[:port]; '' if unusable."""
    raw = (raw or "").strip().lower()
    host = urlsplit(raw).netloc if "//" in raw else raw.split("/")[0]
    return host if re.fullmatch(r"[a-z0-9.-]{1,253}(?::\d{1,5})?", host) else ""


def portal_origin(host: str) -> str:
    """scheme://host of a portal; anything but a Bitrix24 cloud host (or the loopback sandbox in demo/test)
    is refused, because our tokens go there."""
    host = host_normalize(host)
    if CLOUD_HOST.match(host):
        return f"https://{host}"
    if host and conf.loopback_allowed() and _is_loopback(host):
        return f"http://{host}"
    raise AuthRefused(f"{host or '(none)'} is not the address of a Bitrix24 portal.")


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if ":" in host else host
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def oauth_base() -> str:
    """The authorization server: always the configured one (never a host taken from a POST, since the
    client secret goes there)."""
    return str(conf.get("BITRIX24_OAUTH_URL")).rstrip("/")


def token_call(grant: dict) -> TokenPair:
    """GET /oauth/token/ for either grant; raises Rejected (invalid_grant…), Blocked or Transient."""
    assert_no_transaction()
    params = {"client_id": conf.get("BITRIX24_CLIENT_ID"), "client_secret": conf.get("BITRIX24_CLIENT_SECRET"),
              **grant}
    try:
        response = requests.get(f"{oauth_base()}/oauth/token/", params=params, timeout=timeouts(),
                                allow_redirects=False, headers={"User-Agent": USER_AGENT})
    except requests.RequestException as exc:
        raise Transient(f"token endpoint: {type(exc).__name__}") from exc
    answer = _json(response)
    error = str(answer.get("error") or "")
    if response.status_code == 200 and not error:
        try:
            return TokenPair(str(answer["access_token"]), str(answer["refresh_token"]),
                             int(answer.get("expires_in") or 3600), str(answer.get("member_id") or ""),
                             str(answer.get("scope") or ""), int_or_none(answer.get("user_id")))
        except (KeyError, TypeError, ValueError) as exc:
            raise Transient("token endpoint: unreadable answer", status=200) from exc
    message = f"token endpoint: {response.status_code} {error or response.reason}"
    if error == "PAYMENT_REQUIRED":
        raise Blocked(message, status=response.status_code, code=error, pause_seconds=3600)
    if error or response.status_code in (400, 401, 403):
        raise Rejected(message, status=response.status_code, code=error)
    raise Transient(message, status=response.status_code)


def app_info(access_token: str) -> dict:
    """`app.info` asked of the authorization server with a token: which app and install it belongs to."""
    assert_no_transaction()
    try:
        response = requests.get(f"{oauth_base()}/rest/app.info", params={"auth": access_token}, timeout=timeouts(),
                                allow_redirects=False, headers={"User-Agent": USER_AGENT,
                                                                "Accept": "application/json"})
    except requests.RequestException as exc:
        raise Transient(f"app.info: {type(exc).__name__}") from exc
    answer = _json(response)
    if response.status_code >= 500:
        raise Transient(f"app.info: {response.status_code}", status=response.status_code)
    result = answer.get("result")
    if response.status_code != 200 or not isinstance(result, dict):
        raise AuthRefused(f"app.info refused the token ({response.status_code} {answer.get('error') or ''})",
                          status=response.status_code, code=str(answer.get("error") or ""))
    return result


def token_verify(access_token: str, *, member_id: str, domain: str) -> dict:
    """Prove a token is ours and of the portal named (contract §2.5): app.info on the authorization
    server must name our client_id, that member_id and that domain. Raises AuthRefused or Transient."""
    if not access_token or not member_id:
        raise AuthRefused("no token or member_id to check")
    result = app_info(access_token)
    install = result.get("install") if isinstance(result.get("install"), dict) else {}
    if str(result.get("client_id") or "") != conf.get("BITRIX24_CLIENT_ID"):
        raise AuthRefused("the token belongs to another application")
    if str(install.get("member_id") or "") != member_id:
        raise AuthRefused("the token belongs to another portal")
    if domain and host_normalize(str(install.get("domain") or "")) != host_normalize(domain):
        raise AuthRefused("the token's portal has another address")
    return result


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- one refresh per portal ----------------------------------------------------------------------------
def portal_refresh(*, portal_id: int, seen_version: int, max_wait: float | None = None) -> Portal:
    """A fresh pair for the portal, made by exactly one worker; the others wait and use what it stored.
    No lock is held while the oauth server is called."""
    deadline = time.monotonic() + (conf.get("BITRIX24_MAX_WAIT_SECONDS") if max_wait is None else max_wait)
    while True:
        claim, portal = _refresh_claim(portal_id, seen_version)
        if claim is None and portal is not None:
            return portal  # another worker stored a newer pair
        if claim is not None:
            return _refresh_run(portal, claim)
        if time.monotonic() >= deadline:
            raise NotSent("another worker is refreshing the portal's token", retry_after=5)
        time.sleep(WAIT_STEP_SECONDS)


@transaction.atomic
def _refresh_claim(portal_id: int, seen_version: int) -> tuple[str | None, Portal | None]:
    """(claim, portal) when this worker must refresh; (None, portal) when a newer pair is stored;
    (None, None) while another worker's claim is live."""
    portal = Portal.objects.select_for_update().get(pk=portal_id)
    if not portal.is_installed:
        raise _parked(portal)
    if portal.token_version != seen_version:
        return None, portal
    now = timezone.now()
    if portal.refresh_claim and portal.refresh_claimed_until and portal.refresh_claimed_until > now:
        return None, None
    claim = uuid.uuid4().hex
    portal.refresh_claim = claim
    portal.refresh_claimed_until = now + timedelta(seconds=conf.get("BITRIX24_REFRESH_CLAIM_SECONDS"))
    portal.save(update_fields=["refresh_claim", "refresh_claimed_until", "updated_at"])
    return claim, portal


def _refresh_run(portal: Portal, claim: str) -> Portal:
    try:
        tokens = token_call({"grant_type": "refresh_token", "refresh_token": portal.refresh_token})
    except Rejected as exc:
        reason = (f"Bitrix24 refused the refresh token ({exc.code or exc.message}); open PayPlan in the portal "
                  "or install it again.")
        _refresh_release(portal.pk, claim, status=Portal.Status.NEEDS_REINSTALL, reason=reason)
        logger.error("Bitrix24 portal %s needs a reinstall: %s", portal.member_id, exc.message)
        raise ReinstallNeeded(reason, code=exc.code) from exc
    except Exception:
        _refresh_release(portal.pk, claim)
        raise
    return _refresh_store(portal.pk, claim, tokens)


@transaction.atomic
def _refresh_store(portal_id: int, claim: str, tokens: TokenPair) -> Portal:
    """The old pair is already dead at Bitrix24: store the new one now. A claim that lapsed while we
    called (our worker was slow) still stores, unless another pair came meanwhile: ours is the newer."""
    portal = Portal.objects.select_for_update().get(pk=portal_id)
    if portal.refresh_claim != claim:
        logger.warning("Bitrix24 portal %s: a refresh claim lapsed mid-call", portal.member_id)
    now = timezone.now()
    portal.access_token, portal.refresh_token = tokens.access_token, tokens.refresh_token
    portal.expires_at = now + timedelta(seconds=tokens.expires_in)
    portal.token_version += 1
    portal.refreshed_at = now
    portal.refresh_claim, portal.refresh_claimed_until = "", None
    portal.save()
    return portal


@transaction.atomic
def _refresh_release(portal_id: int, claim: str, *, status: str | None = None, reason: str = "") -> None:
    portal = Portal.objects.select_for_update().get(pk=portal_id)
    if portal.refresh_claim != claim:
        return  # someone else owns the refresh now; their outcome stands
    portal.refresh_claim, portal.refresh_claimed_until = "", None
    fields = ["refresh_claim", "refresh_claimed_until", "updated_at"]
    if status and portal.is_installed:
        portal.status, portal.status_reason = status, reason[:255]
        fields += ["status", "status_reason"]
    portal.save(update_fields=fields)


def _parked(portal: Portal) -> ReinstallNeeded:
    reason = portal.status_reason or f"The Bitrix24 portal is {portal.status}."
    if portal.status == Portal.Status.UNINSTALLED:
        return PortalUninstalled(reason)
    return ReinstallNeeded(reason)


def portals_refresh_idle(*, older_than_days: int = 14) -> int:
    """Refresh the pair of installed portals nobody has used for `older_than_days` (the beat runs this
    daily), so an idle portal's refresh chain never reaches its end; never on a timer for busy ones —
    Bitrix24 warns against refreshing before every call or hourly (contract §2.4)."""
    horizon = timezone.now() - timedelta(days=older_than_days)
    refreshed = 0
    idle = (Portal.objects.filter(status=Portal.Status.INSTALLED)
            .filter(models.Q(refreshed_at__lt=horizon) | models.Q(refreshed_at__isnull=True, installed_at__lt=horizon)))
    for portal_id, version in idle.values_list("pk", "token_version"):
        try:
            portal_refresh(portal_id=portal_id, seen_version=version, max_wait=5)
            refreshed += 1
        except (Transient, ReinstallNeeded, Blocked) as exc:
            logger.warning("idle refresh of Bitrix24 portal %s failed: %s", portal_id, exc.message)
    return refreshed
