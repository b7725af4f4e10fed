"""Writes of CRM connections: connect on install, store a new token pair, change the status.
Each is one transaction; none of them talks to amoCRM."""
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from billing.models import Account
from crm.amocrm.models import CrmConnection


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


@transaction.atomic
def crm_connection_connect(*, account: Account, base_url: str, tokens: TokenPair) -> CrmConnection:
    """A (re-)installation: the new pair replaces whatever was stored, and the connection is live again."""
    connection, _ = CrmConnection.objects.select_for_update().get_or_create(
        account=account, defaults={"base_url": base_url})
    now = timezone.now()
    connection.base_url = base_url
    connection.status, connection.status_reason, connection.connected_at = CrmConnection.Status.CONNECTED, "", now
    connection.install_generation = F("install_generation") + 1
    _apply(connection, tokens, now)
    connection.save()
    connection.refresh_from_db()
    return connection


@transaction.atomic
def crm_connection_tokens_store(*, connection_id: int, tokens: TokenPair) -> CrmConnection:
    """Persist a refreshed pair at once: the old refresh token is already dead at amoCRM."""
    connection = CrmConnection.objects.select_for_update().get(pk=connection_id)
    now = timezone.now()
    _apply(connection, tokens, now)
    connection.refreshed_at = now
    connection.save()
    connection.refresh_from_db()
    return connection


def _apply(connection: CrmConnection, tokens: TokenPair, now) -> None:
    connection.access_token, connection.refresh_token = tokens.access_token, tokens.refresh_token
    connection.expires_at = now + timedelta(seconds=tokens.expires_in)
    connection.token_version = F("token_version") + 1


@transaction.atomic
def crm_connection_status_set(*, account_id: int, status: str, reason: str = "", drop_tokens: bool = False,
                              token_version: int | None = None, install_generation: int | None = None) -> None:
    """needs_reinstall / disconnected: the actions of the account wait, nothing is deleted.

    With `token_version`, only while that pair is still the stored one: a re-install that landed
    meanwhile is not undone by a worker that failed with the old tokens."""
    changes: dict = {"status": status, "status_reason": reason[:255]}
    if drop_tokens:
        changes |= {"access_token": "", "refresh_token": "", "expires_at": None,
                    "token_version": F("token_version") + 1}
    connections = CrmConnection.objects.filter(account_id=account_id)
    if token_version is not None:
        connections = connections.filter(token_version=token_version)
    if install_generation is not None:
        connections = connections.filter(install_generation=install_generation)
    connections.update(**changes)
