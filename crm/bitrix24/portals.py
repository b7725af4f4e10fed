"""Writes of portal rows: install, rename, uninstall, status, setup. Each is one transaction and none of
them talks to Bitrix24."""
import re
from datetime import timedelta

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from billing.models import Account
from billing.services.accounts import account_install
from crm.bitrix24.models import Portal
from crm.bitrix24.oauth import TokenPair

ACCOUNT_KIND = "bitrix24"  # the Account.crm_kind of a portal's account (crm.bitrix24.outbox.KIND)

# Sent after the commit of a (re-)install: whoever parked this portal's actions (the outbox) resumes them.
# Arguments: portal_id, member_id, install_generation.
portal_installed = Signal()
# Sent after the commit of an uninstall: the outbox parks the portal's actions. Arguments: portal_id, member_id.
portal_uninstalled = Signal()


@transaction.atomic
def portal_install_store(*, member_id: str, domain: str, client_endpoint: str, server_endpoint: str,
                         tokens: TokenPair, application_token: str, scope: str, plan_status: str,
                         installer_user_id: int | None) -> tuple[Portal, bool]:
    """A verified installation: (portal, True) when it is a new install (first, or after an uninstall,
    or with a new application token); (portal, False) for a repeat of the install already stored (a late
    or duplicate ONAPPINSTALL), which keeps the pair stored then, since that may be newer."""
    portal = Portal.objects.select_for_update().filter(member_id=member_id).first()
    now = timezone.now()
    if portal is not None and portal.is_installed and portal.application_token == application_token:
        if portal.domain != domain:
            _rename(portal, domain, client_endpoint)
            portal.save()
        portal_account_link(portal)
        return portal, False
    if portal is None:
        portal = Portal(member_id=member_id)
    elif portal.domain != domain:
        _rename(portal, domain, client_endpoint)
    portal.domain, portal.client_endpoint, portal.server_endpoint = domain, client_endpoint, server_endpoint
    portal.access_token, portal.refresh_token = tokens.access_token, tokens.refresh_token
    portal.expires_at = now + timedelta(seconds=tokens.expires_in)
    portal.token_version += 1
    portal.refresh_claim, portal.refresh_claimed_until = "", None
    portal.application_token, portal.scope, portal.plan_status = application_token, scope[:255], plan_status[:1]
    portal.installer_user_id = installer_user_id
    portal.status, portal.status_reason = Portal.Status.INSTALLED, ""
    portal.install_generation += 1
    portal.installed_at, portal.uninstalled_at = now, None
    portal.save()
    portal_account_link(portal)
    generation = portal.install_generation
    transaction.on_commit(lambda: portal_installed.send(sender=Portal, portal_id=portal.pk, member_id=member_id,
                                                        install_generation=generation), robust=True)
    return portal, True


def portal_account_link(portal: Portal) -> Account:
    """The PayPlan account the portal is (in the caller's transaction, the portal row locked): a first
    install creates it (crm_kind bitrix24, crm_account_id = the portal row's id, stable across renames and
    reinstalls since the row is keyed by member_id; slug from the portal's host); a reinstall finds the same
    one again, so its deals, plans and parked actions are all still there."""
    if portal.account_id is not None:
        account = portal.account
        if account.host != portal.domain:
            Account.objects.filter(pk=account.pk).update(host=portal.domain)
        return account
    account = Account.objects.filter(crm_kind=ACCOUNT_KIND, crm_account_id=portal.pk).first()
    if account is None:
        account = account_install(crm_account_id=portal.pk, slug=_free_slug(portal.domain, portal.pk),
                                  host=portal.domain, name=portal.domain, crm_kind=ACCOUNT_KIND)
    Portal.objects.filter(pk=portal.pk).update(account=account)
    portal.account = account
    return account


def _free_slug(domain: str, portal_id: int) -> str:
    """`lawyers` for lawyers.bitrix24.ru; `lawyers-b24` when an account has `lawyers` already, then with the id."""
    host = domain.lower()
    first = host if re.fullmatch(r"[0-9.:]+", host) else host.split(":")[0].split(".")[0]  # an IP: all of it
    label = re.sub(r"[^a-z0-9-]+", "-", first).strip("-")[:60] or "portal"
    for slug in (label, f"{label}-b24", f"{label}-b24-{portal_id}"):
        if not Account.objects.filter(slug=slug).exists():
            return slug
    return f"b24-{portal_id}"


def _rename(portal: Portal, domain: str, client_endpoint: str) -> None:
    if portal.domain and portal.domain not in portal.previous_domains:
        portal.previous_domains = [*portal.previous_domains, portal.domain][-10:]
    portal.domain, portal.client_endpoint = domain, client_endpoint


@transaction.atomic
def portal_domain_change(*, portal_id: int, domain: str, client_endpoint: str) -> Portal:
    """The portal answered from a new address (302 after a rename): calls go there from now on."""
    portal = Portal.objects.select_for_update().get(pk=portal_id)
    if portal.domain != domain:
        _rename(portal, domain, client_endpoint)
        portal.save(update_fields=["domain", "client_endpoint", "previous_domains", "updated_at"])
    return portal


@transaction.atomic
def portal_uninstall_mark(*, portal_id: int, install_generation: int, clean: bool) -> bool:
    """ONAPPUNINSTALL (already verified): tokens are dead, nothing is sent until a reinstall; the
    portal's actions stay parked, none is lost. False when a later install already replaced this one."""
    portal = Portal.objects.select_for_update().get(pk=portal_id)
    if portal.install_generation != install_generation or portal.status == Portal.Status.UNINSTALLED:
        return False
    portal.status = Portal.Status.UNINSTALLED
    portal.status_reason = "The app was removed from the portal" + (" (its data to be wiped)." if clean else ".")
    portal.access_token, portal.refresh_token, portal.expires_at = "", "", None
    portal.token_version += 1
    portal.uninstalled_at = timezone.now()
    portal.save()
    member_id = portal.member_id
    transaction.on_commit(lambda: portal_uninstalled.send(sender=Portal, portal_id=portal_id, member_id=member_id),
                          robust=True)
    return True


@transaction.atomic
def portal_status_set(*, portal_id: int, status: str, reason: str, token_version: int | None = None) -> None:
    """needs_reinstall after a fresh pair is refused; only while `token_version` is still the stored pair."""
    portals = Portal.objects.filter(pk=portal_id, status=Portal.Status.INSTALLED)
    if token_version is not None:
        portals = portals.filter(token_version=token_version)
    portals.update(status=status, status_reason=reason[:255], updated_at=timezone.now())


@transaction.atomic
def portal_setup_store(*, portal_id: int, install_generation: int, setup: dict) -> bool:
    """What the install set up (user fields, bound events, placement), for the install it was done for."""
    return bool(Portal.objects.filter(pk=portal_id, install_generation=install_generation)
                .update(setup=setup, updated_at=timezone.now()))


@transaction.atomic
def portal_tokens_recover(*, portal_id: int, token_version: int, tokens: TokenPair) -> Portal | None:
    """A portal parked for a dead refresh token, opened by a user whose frame tokens were confirmed:
    their fresh pair revives it (contract §2.3), and whatever waited for it resumes. None when the
    portal changed meanwhile (another recovery or an install came first)."""
    portal = Portal.objects.select_for_update().get(pk=portal_id)
    if portal.status != Portal.Status.NEEDS_REINSTALL or portal.token_version != token_version:
        return None
    now = timezone.now()
    portal.access_token, portal.refresh_token = tokens.access_token, tokens.refresh_token
    portal.expires_at = now + timedelta(seconds=tokens.expires_in)
    portal.token_version += 1
    portal.refreshed_at = now
    portal.status, portal.status_reason = Portal.Status.INSTALLED, ""
    portal.save()
    member_id, generation = portal.member_id, portal.install_generation
    transaction.on_commit(lambda: portal_installed.send(sender=Portal, portal_id=portal_id, member_id=member_id,
                                                        install_generation=generation), robust=True)
    return portal
