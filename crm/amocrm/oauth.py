"""amoCRM OAuth 2.0: where an account lives, the token endpoint, and refreshing under one lock.

Refresh tokens are single-use and rotate: two workers refreshing with the same one leave the loser
with a revoked token and the account without access. So a refresh happens under a lock shared by every
worker, re-reads the stored pair inside it, and a worker that finds a newer pair simply uses it.
"""
import ipaddress
import logging
import re
import secrets
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import requests
from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from billing.transactions import assert_no_transaction
from crm import coordination
from crm.amocrm.connections import TokenPair, crm_connection_status_set, crm_connection_tokens_store
from crm.amocrm.errors import (
    CrmBlocked,
    CrmError,
    CrmNotSent,
    CrmReinstallNeeded,
    CrmRejected,
    CrmTransient,
    InstallError,
)
from crm.amocrm.http import USER_AGENT, problem_message, timeouts
from crm.amocrm.models import CrmConnection, InstallStateUse

logger = logging.getLogger(__name__)

AMOCRM_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.(?:amocrm\.ru|amocrm\.com|kommo\.com)$")
STATE_SALT = "payplan.amocrm.install-state"
# Long enough to read amoCRM's consent screen; the code it brings back lives 20 minutes anyway.
STATE_MAX_AGE_SECONDS = 1800
STATE_MISSING_RU = gettext_lazy(
    "amoCRM did not pass on PayPlan's installation confirmation. Connect PayPlan through the installation link "
    "(the «Connect» button in the widget settings or the /amocrm/install address).")
STATE_BAD_RU = gettext_lazy("The installation link has expired or was not made by PayPlan. Start connecting again.")
STATE_USED_RU = gettext_lazy("This installation link was already used. Start connecting again.")
# Longer than one token call may take (connect + read timeouts), so the lock never expires mid-call.
REFRESH_LOCK_HOLD_SECONDS = 90
REFRESH_LOCK_WAIT_SECONDS = 45


def redirect_uri() -> str:
    return settings.AMOCRM_REDIRECT_URI or f"{settings.PAYPLAN_PUBLIC_ORIGIN.rstrip('/')}/amocrm/oauth/callback"


def loopback_allowed() -> bool:
    """A loopback referer (the sandbox CRM) over plain http: only in demo mode, and there unless switched off."""
    return bool(settings.PAYPLAN_DEMO) and settings.AMOCRM_ALLOW_LOOPBACK is not False


def base_url_for_referer(referer: str) -> str:
    """The account's base URL from the callback's `referer`; anything but an amoCRM host is refused,
    because the code exchange sends our client secret there."""
    raw = (referer or "").strip().lower()
    host = urlsplit(raw).netloc if "//" in raw else raw
    if AMOCRM_HOST.match(host):
        return f"https://{host}"
    if loopback_allowed() and _is_loopback(host):
        return f"http://{host}"
    raise InstallError(f"{referer!r} is not the address of an amoCRM account.")


def _is_loopback(host: str) -> bool:
    name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    if port and not port.isdigit():
        return False
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def state_make() -> str:
    """A signed, expiring, single-use install state: a random nonce under Django's signature."""
    return signing.dumps({"for": "install", "nonce": secrets.token_urlsafe(24)}, salt=STATE_SALT)


def state_consume(state: str | None) -> None:
    """Every install must bring back a state we handed out, recently, and only once.

    amoCRM's own install screen (from_widget) sends none: such an install is refused, and the admin
    connects through /amocrm/install instead (a button install, which carries our state)."""
    if not state:
        raise InstallError("The callback carries no state: installs start at PayPlan's install link.",
                           user_message=STATE_MISSING_RU)
    try:
        payload = signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE_SECONDS)
    except signing.BadSignature as exc:
        raise InstallError("The installation link has expired or was not made by PayPlan; start again.",
                           user_message=STATE_BAD_RU) from exc
    nonce = payload.get("nonce") if isinstance(payload, dict) else None
    if not isinstance(nonce, str) or not nonce or len(nonce) > 64:
        raise InstallError("The installation link was not made by PayPlan; start again.", user_message=STATE_BAD_RU)
    try:
        with transaction.atomic():
            InstallStateUse.objects.filter(used_at__lt=timezone.now() - timedelta(seconds=2 * STATE_MAX_AGE_SECONDS)
                                           ).delete()
            InstallStateUse.objects.create(nonce=nonce)
    except IntegrityError as exc:
        raise InstallError("This installation link was already used; start again.",
                           user_message=STATE_USED_RU) from exc


def install_url() -> str:
    return f"{settings.AMOCRM_OAUTH_URL}?{urlencode({'client_id': settings.AMOCRM_CLIENT_ID, 'state': state_make()})}"


def code_exchange(*, base_url: str, code: str) -> TokenPair:
    if not code:
        raise InstallError("amoCRM sent no authorization code.")
    try:
        return token_call(base_url, {"grant_type": "authorization_code", "code": code})
    except CrmRejected as exc:
        raise InstallError(f"amoCRM refused the authorization code ({exc.message}): it is wrong, expired "
                           "or was already used. Install the integration again.") from exc
    except (CrmTransient, CrmBlocked) as exc:
        raise InstallError(f"amoCRM could not be reached ({exc.message}); try installing again.") from exc


def token_call(base_url: str, grant: dict) -> TokenPair:
    """POST /oauth2/access_token for either grant; raises CrmRejected, CrmBlocked or CrmTransient."""
    assert_no_transaction()
    body = {"client_id": settings.AMOCRM_CLIENT_ID, "client_secret": settings.AMOCRM_CLIENT_SECRET,
            "redirect_uri": redirect_uri(), **grant}
    try:
        response = requests.post(f"{base_url}/oauth2/access_token", json=body, timeout=timeouts(),
                                 allow_redirects=False, headers={"User-Agent": USER_AGENT})
    except requests.ConnectTimeout as exc:
        raise CrmTransient("token endpoint: connect timeout") from exc
    except requests.RequestException as exc:
        raise CrmTransient(f"token endpoint: {type(exc).__name__}", maybe_applied=True) from exc
    if response.status_code == 200:
        try:
            answer = response.json()
            return TokenPair(str(answer["access_token"]), str(answer["refresh_token"]),
                             int(answer.get("expires_in") or 86400))
        except (ValueError, KeyError, TypeError) as exc:
            raise CrmTransient("token endpoint: unreadable answer", status=200) from exc
    message = f"{response.status_code} {problem_message(response)}"
    if response.status_code in (400, 401) or (response.status_code == 403 and _is_json(response)):
        raise CrmRejected(message, status=response.status_code)
    if response.status_code in (402, 403):
        raise CrmBlocked(message, status=response.status_code)
    raise CrmTransient(f"token endpoint: {message}", status=response.status_code)


def _is_json(response: requests.Response) -> bool:
    return "json" in response.headers.get("Content-Type", "")


def connection_refresh(*, account_id: int, seen_version: int) -> CrmConnection:
    """A fresh token pair for the account, made by exactly one worker; the others use what it stored."""
    try:
        with coordination.exclusive(f"refresh:{account_id}", hold_seconds=REFRESH_LOCK_HOLD_SECONDS,
                                    wait_seconds=REFRESH_LOCK_WAIT_SECONDS):
            connection = CrmConnection.objects.get(account_id=account_id)
            if not connection.is_connected:
                raise CrmReinstallNeeded(connection.status_reason or f"The connection is {connection.status}.")
            if connection.token_version != seen_version:
                return connection  # another worker refreshed while we waited for the lock
            try:
                tokens = token_call(connection.base_url, {"grant_type": "refresh_token",
                                                          "refresh_token": connection.refresh_token})
            except CrmRejected as exc:
                reason = f"amoCRM refused the refresh token ({exc.message}); install the integration again."
                crm_connection_status_set(account_id=account_id, status=CrmConnection.Status.NEEDS_REINSTALL,
                                          reason=reason, token_version=connection.token_version)
                logger.error("amoCRM account %s needs re-installation: %s", account_id, exc.message)
                raise CrmReinstallNeeded(reason) from exc
            return crm_connection_tokens_store(connection_id=connection.pk, tokens=tokens)
    except coordination.LockTimeout as exc:
        raise CrmNotSent("another worker is refreshing the token", retry_after=5) from exc


def crm_tokens_refresh_due() -> int:
    """Refresh every connected account whose access token expires soon (the beat runs this hourly), so
    even an idle account's refresh chain never reaches amoCRM's three-month limit."""
    horizon = timezone.now() + timedelta(seconds=settings.AMOCRM_TOKEN_REFRESH_AHEAD_SECONDS)
    refreshed = 0
    due = CrmConnection.objects.filter(status=CrmConnection.Status.CONNECTED, expires_at__lt=horizon)
    for account_id, version in due.values_list("account_id", "token_version"):
        try:
            connection_refresh(account_id=account_id, seen_version=version)
            refreshed += 1
        except CrmError as exc:
            logger.warning("amoCRM token refresh of account %s failed: %s", account_id, exc.message)
    return refreshed
