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

from billing.jobs import job_enqueue
from billing.models import Account
from billing.services.accounts import account_install, account_settings_update
from crm.amocrm import oauth
from crm.amocrm.adapter import KIND
from crm.amocrm.client import AmoCrmClient
from crm.amocrm.connections import TokenPair, crm_connection_connect, crm_connection_status_set
from crm.amocrm.errors import CrmReinstallNeeded, CrmRejected, InstallError
from crm.amocrm.fields import lead_fields, suggested_field_ids
from crm.amocrm.http import USER_AGENT, problem_message, timeouts
from crm.amocrm.models import CrmConnection
from crm.amocrm.ratelimit import account_bucket
from crm.outbox import drain_after_commit

logger = logging.getLogger(__name__)

DEFAULT_TIME_ZONE = "Europe/Moscow"
# add_lead: a lead made straight in the plan rules' trigger stage starts its plan ([J]).
LEAD_HOOKS = ["add_lead", "update_lead", "status_lead", "delete_lead", "restore_lead", "responsible_lead"]


def crm_install(*, code: str, referer: str, state: str | None, from_widget: bool) -> Account:
    """Exchange the authorization code and connect the account it belongs to; raises InstallError,
    in which case nothing was stored."""
    base_url = oauth.base_url_for_referer(referer)
    # Widget-started installs included: a callback without our state (or with a used, expired or forged
    # one) could be anyone's code planted in an admin's browser, so the code is not even exchanged.
    # `from_widget` is kept for the log only.
    oauth.state_consume(state)
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
    account = account_install(crm_account_id=int(info["id"]), slug=subdomain, host=host, crm_kind=KIND,
                              name=str(info.get("name") or subdomain), time_zone=_time_zone(info))
    # The account GET above went out before we knew whose budget it was: charge it now, so the calls
    # that follow keep their distance from it.
    account_bucket().acquire(str(account.pk))
    crm_connection_connect(account=account, base_url=base_url, tokens=tokens)
    transaction.on_commit(lambda: _finish_later(account.pk), robust=True)
    logger.info("amoCRM account %s (%s) connected at %s", account.crm_account_id, subdomain, base_url)
    return account


def _time_zone(info: dict) -> str:
    name = ((info.get("_embedded") or {}).get("datetime_settings") or {}).get("timezone") or DEFAULT_TIME_ZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return DEFAULT_TIME_ZONE
    return name


def _finish_later(account_id: int) -> None:
    job_enqueue("widget_api.crm_install_finish", account_id)


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
    """amoCRM's access-revoked hook. False when it is not signed with our secret.

    The signature (HMAC of `client_uuid|account_id`) is the same for every installation of the account
    and carries no time, so a captured hook could be replayed after a re-install. It is therefore only
    a hint: the installation current now is noted, and a task asks amoCRM whether that installation's
    tokens are really dead before disconnecting it (crm_revoke_confirm)."""
    expected = hmac.new(settings.AMOCRM_CLIENT_SECRET.encode(), f"{client_uuid}|{account_id}".encode(),
                        hashlib.sha256).hexdigest()
    if client_uuid != settings.AMOCRM_CLIENT_ID or not hmac.compare_digest(expected, signature or ""):
        return False
    amocrm_id = int(account_id) if account_id.isascii() and account_id.isdigit() and len(account_id) <= 18 else -1
    connection = CrmConnection.objects.filter(account__crm_kind=KIND, account__crm_account_id=amocrm_id,
                                              status=CrmConnection.Status.CONNECTED).first()
    if connection is not None:
        account_pk, generation = connection.account_id, connection.install_generation
        transaction.on_commit(lambda: _confirm_later(account_pk, generation), robust=True)
    return True


def _confirm_later(account_id: int, install_generation: int) -> None:
    job_enqueue("widget_api.crm_revoke_confirm", account_id, install_generation)


def crm_revoke_confirm(*, account_id: int, install_generation: int) -> str:
    """Disconnect the installation a revoke hook named, if amoCRM confirms its access is gone.

    Returns what happened: "stale" (that installation is no longer the current one), "live" (amoCRM
    still accepts its tokens: a replayed or mistaken hook, nothing changes) or "disconnected".
    Raises CrmTransient/CrmNotSent when amoCRM could not be asked (the task retries)."""
    connection = CrmConnection.objects.filter(account_id=account_id).first()
    if (connection is None or not connection.is_connected
            or connection.install_generation != install_generation):
        return "stale"
    try:
        AmoCrmClient(connection).get("/api/v4/account")
    except CrmReinstallNeeded:
        crm_connection_status_set(account_id=account_id, status=CrmConnection.Status.DISCONNECTED,
                                  reason="The integration was switched off in amoCRM.", drop_tokens=True,
                                  install_generation=install_generation)
        logger.info("amoCRM account %s switched PayPlan off", account_id)
        return "disconnected"
    logger.warning("A revoke hook for account %s was not confirmed: amoCRM still accepts its tokens", account_id)
    return "live"
