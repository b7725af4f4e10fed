"""The client page link (/p/<token>): signed, expiring, and revocable per deal.

The token names the deal and the deal's `client_link_version`; «Новая ссылка» bumps the version, so every
older link stops working at once. Billing mints the link (invoice emails, reminders and CRM notes carry it);
the client portal reads it. Nothing in the token is secret, but nothing in it can be changed either.
"""
from django.conf import settings
from django.core import signing

from billing.models import Deal

SALT = "payplan.client_page"
REGISTRATION_SALT = "payplan.client_registration"


def client_page_token(deal: Deal) -> str:
    return signing.dumps([deal.pk, deal.client_link_version], salt=SALT)


def client_page_path(deal: Deal) -> str:
    return f"/p/{client_page_token(deal)}"


def client_page_url(deal: Deal) -> str:
    return settings.PAYPLAN_PUBLIC_ORIGIN.rstrip("/") + client_page_path(deal)


def client_page_deal(token: str) -> Deal | None:
    """The deal a token names, or None when it is forged, altered, expired, revoked (an older version) or the
    deal/account is gone: the caller shows one friendly 404 for all of them, so nothing tells them apart."""
    max_age = settings.PAYPLAN_CLIENT_LINK_MAX_AGE_DAYS * 86400
    try:
        deal_id, version = signing.loads(token, salt=SALT, max_age=max_age)
        deal_id, version = int(deal_id), int(version)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    deal = Deal.objects.select_related("account").filter(pk=deal_id, account__is_active=True).first()
    if deal is None or deal.client_link_version != version:
        return None
    return deal


def registration_token(account_id: int) -> str:
    """The account's registration form address (/register/<token>): does not expire; a signed account id."""
    return signing.dumps(account_id, salt=REGISTRATION_SALT)


def registration_url(account_id: int) -> str:
    return settings.PAYPLAN_PUBLIC_ORIGIN.rstrip("/") + f"/register/{registration_token(account_id)}"


def registration_account_id(token: str) -> int | None:
    try:
        return int(signing.loads(token, salt=REGISTRATION_SALT))
    except (signing.BadSignature, ValueError, TypeError):
        return None
