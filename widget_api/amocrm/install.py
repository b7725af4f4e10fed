"""Installing PayPlan into an amoCRM account and switching it off again.

The callback exchanges the code and names the account (two calls, well inside the 3 s amoCRM waits);
subscribing to lead hooks and suggesting the field mapping happen after commit, in a task.
"""
import hashlib
import hmac
import logging
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from django.conf import settings
from django.db import IntegrityError, transaction

from billing.models import Account
from billing.services.accounts import account_install, account_settings_update
from widget_api.amocrm import oauth
from widget_api.amocrm.client import AmoCrmClient
from widget_api.amocrm.connections import TokenPair, crm_connection_connect, crm_connection_status_set
from widget_api.amocrm.errors import CrmRejected, InstallError
from widget_api.amocrm.fields import lead_fields, suggested_field_ids
from widget_api.amocrm.http import USER_AGENT, problem_message, timeouts
from widget_api.amocrm.outbox import drain_after_commit
from widget_api.amocrm.ratelimit import account_bucket
from widget_api.models import CrmConnection

logger = logging.getLogger(__name__)

DEFAULT_TIME_ZONE = "Europe/Moscow"
LEAD_HOOKS = ["update_lead", "status_lead", "delete_lead", "restore_lead", "responsible_lead"]


def crm_install(*, code: str, referer: str, state: str | None, from_widget: bool) -> Account:
    """Exchange the authorization code and connect the account it belongs to; raises InstallError,
    in which case nothing was stored."""
    base_url = oauth.base_url_for_referer(referer)
    if state and not from_widget:
        # A button install brings back the state of our link. Without one (amoCRM's own install screen)
        # the code alone proves an admin granted access, and it binds only the account that granted it.
        oauth.state_check(state)
    tokens = oauth.code_exchange(base_url=base_url, code=code)
    info = _account_info(base_url, tokens.access_token)
    host = urlsplit(base_url).netloc
    subdomain = str(info.get("subdomain") or "").strip().lower()
    if not subdomain or not str(info.get("id") or "").isdigit():
        raise InstallError("amoCRM did not say which account this is.")
    if oauth.AMOCRM_HOST.match(host) and not host.startswith(f"{subdomain}."):
        raise InstallError(f"The account at {host} calls itself {subdomain!r}; refusing a mismatched install.")
    try:
        return _connect(info=info, subdomain=subdomain, host=host, base_url=base_url, tokens=tokens)
    except IntegrityError as exc:
        raise InstallError(f"Another PayPlan account already uses the subdomain {subdomain!r}.") from exc


def _account_info(base_url: str, access_token: str) -> dict:
    try:
        response = requests.get(f"{base_url}/api/v4/account", params={"with": "datetime_settings"},
                                headers={"Authorization": f"Bearer {access_token}", "User-Agent": USER_AGENT},
                                timeout=timeouts(), allow_redirects=False)
    except requests.RequestException as exc:
        raise InstallError(f"amoCRM could not be reached ({type(exc).__name__}); try installing again.") from exc
    if response.status_code != 200 or "json" not in response.headers.get("Content-Type", ""):
        raise InstallError(f"amoCRM did not describe the account ({response.status_code} "
                           f"{problem_message(response)}); try installing again.")
    return response.json()


@transaction.atomic
def _connect(*, info: dict, subdomain: str, host: str, base_url: str, tokens: TokenPair) -> Account:
    account = account_install(amocrm_account_id=int(info["id"]), subdomain=subdomain, host=host,
                              name=str(info.get("name") or subdomain), time_zone=_time_zone(info))
    # The account GET above went out before we knew whose budget it was: charge it now, so the calls
    # that follow keep their distance from it.
    account_bucket().acquire(str(account.pk))
    crm_connection_connect(account=account, base_url=base_url, tokens=tokens)
    transaction.on_commit(lambda: _finish_later(account.pk), robust=True)
    logger.info("amoCRM account %s (%s) connected at %s", account.amocrm_account_id, subdomain, base_url)
    return account


def _time_zone(info: dict) -> str:
    name = ((info.get("_embedded") or {}).get("datetime_settings") or {}).get("timezone") or DEFAULT_TIME_ZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return DEFAULT_TIME_ZONE
    return name


def _finish_later(account_id: int) -> None:
    from widget_api.tasks import crm_install_finish_task

    crm_install_finish_task.delay(account_id)


def crm_install_finish(*, account_id: int) -> None:
    """After the callback: subscribe to the account's lead hooks and, on a first install, map the lead
    fields whose names say what they hold; then what waited for the connection goes out. A refused
    subscription is only logged: PayPlan works without hooks, its lead data just ages."""
    account = Account.objects.get(pk=account_id)
    client = AmoCrmClient.for_account(account)
    destination = f"{settings.PAYPLAN_PUBLIC_ORIGIN.rstrip('/')}/amocrm/webhooks/{account.webhook_key}"
    try:
        client.post("/api/v4/webhooks", {"destination": destination, "settings": LEAD_HOOKS, "sort": 10})
    except CrmRejected as exc:
        logger.warning("amoCRM refused the lead hooks of account %s: %s", account_id, exc.message)
    if not account.settings.get("custom_fields"):
        suggested = suggested_field_ids(lead_fields(client, fresh=True))
        if suggested:
            account_settings_update(account=account, settings={"custom_fields": suggested})
    drain_after_commit(account_id)


def crm_uninstall(*, account_id: str, client_uuid: str, signature: str) -> bool:
    """amoCRM's access-revoked hook: the account is marked disconnected and its dead tokens dropped;
    nothing else is deleted. False when the hook is not signed with our secret."""
    expected = hmac.new(settings.AMOCRM_CLIENT_SECRET.encode(), f"{client_uuid}|{account_id}".encode(),
                        hashlib.sha256).hexdigest()
    if client_uuid != settings.AMOCRM_CLIENT_ID or not hmac.compare_digest(expected, signature or ""):
        return False
    account = Account.objects.filter(amocrm_account_id=int(account_id) if account_id.isdigit() else -1).first()
    if account is not None:
        crm_connection_status_set(account_id=account.pk, status=CrmConnection.Status.DISCONNECTED,
                                  reason="The integration was switched off in amoCRM.", drop_tokens=True)
        logger.info("amoCRM account %s switched PayPlan off", account.amocrm_account_id)
    return True
