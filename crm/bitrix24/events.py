"""Bitrix24's events (contract §6): form-encoded, flattened `auth[...]` and `data[...]` keys, delivered
at most once and never retried. The application token stored at install is the only proof an event
comes from the portal; an unknown portal or a wrong token is refused, logged and not processed.

A deal event carries only the deal's ID: it is handed on (signal `deal_changed`) for the outbox to
fetch the deal; the handler answers at once.
"""
import hmac
import logging
from dataclasses import dataclass

from django.db import transaction
from django.dispatch import Signal

from crm.bitrix24.errors import AuthRefused
from crm.bitrix24.models import Portal
from crm.bitrix24.portals import portal_uninstall_mark

logger = logging.getLogger(__name__)

DEAL_EVENTS = {"ONCRMDEALUPDATE": "updated", "ONCRMDEALADD": "added", "ONCRMDEALDELETE": "deleted"}
# Sent after commit for each verified deal event. Arguments: portal_id, member_id, deal_id, change
# ("added" / "updated" / "deleted"), by_user (False for robots and workflows: no auth[access_token]).
deal_changed = Signal()


@dataclass(frozen=True)
class EventOutcome:
    event: str
    action: str  # "deal_changed", "uninstalled", "stale", "ignored"
    deal_id: int | None = None


def event_portal(form: dict) -> Portal:
    """The portal the event names, if its application token proves it; AuthRefused otherwise."""
    member_id = str(form.get("auth[member_id]") or "")
    token = str(form.get("auth[application_token]") or "")
    portal = Portal.objects.filter(member_id=member_id).first() if member_id and len(member_id) <= 64 else None
    expected = portal.application_token if portal is not None else ""
    # Compared even for an unknown portal, so the answer takes as long either way.
    matches = hmac.compare_digest(expected.encode() or b"-", token.encode())
    if portal is None or not token or not matches:
        raise AuthRefused(f"event {str(form.get('event') or '')[:40]!r} for portal {member_id[:64]!r}: "
                          f"{'unknown portal' if portal is None else 'wrong application token'}")
    return portal


def event_accept(*, form: dict) -> EventOutcome:
    """Verify and act on one event. Raises AuthRefused (the caller logs and answers 401/403)."""
    name = str(form.get("event") or "").upper()
    portal = event_portal(form)
    if name == "ONAPPUNINSTALL":
        clean = str(form.get("data[CLEAN]") or "0") == "1"
        done = portal_uninstall_mark(portal_id=portal.pk, install_generation=portal.install_generation, clean=clean)
        logger.info("Bitrix24 portal %s uninstalled PayPlan%s", portal.member_id, "" if done else " (already)")
        return EventOutcome(name, "uninstalled" if done else "stale")
    if name in DEAL_EVENTS:
        raw = str(form.get("data[FIELDS][ID]") or "")
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
            return EventOutcome(name, "ignored")
        if not portal.is_installed:
            return EventOutcome(name, "stale", int(raw))
        deal_id, change = int(raw), DEAL_EVENTS[name]
        by_user = bool(form.get("auth[access_token]"))
        transaction.on_commit(lambda: deal_changed.send(sender=Portal, portal_id=portal.pk,
                                                        member_id=portal.member_id, deal_id=deal_id,
                                                        change=change, by_user=by_user), robust=True)
        return EventOutcome(name, "deal_changed", deal_id)
    return EventOutcome(name, "ignored")
