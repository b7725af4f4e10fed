"""Trusting a frame POST (contract §2.5): the deal tab and the app's pages are opened by Bitrix24 with
the viewing user's `AUTH_ID`, the portal's `member_id`, its `DOMAIN` and `APPLICATION_TOKEN`.

All of that passes through the browser, so the application token (when sent) must match the stored one,
and the access token must be confirmed by the authorization server as ours and of this very portal —
never by asking the `DOMAIN` of the POST, which the sender chooses. Anything else is refused.
"""
import hmac
import json
from dataclasses import dataclass

from crm.bitrix24 import oauth
from crm.bitrix24.errors import AuthRefused
from crm.bitrix24.models import Portal
from crm.bitrix24.portals import portal_domain_change, portal_tokens_recover
from crm.bitrix24.viewer import viewer_get


@dataclass(frozen=True)
class FrameAuth:
    portal: Portal
    placement: str
    deal_id: int | None  # the deal of a CRM_DEAL_DETAIL_TAB
    access_token: str  # the viewing user's, for calls made on their behalf
    language: str
    user_id: int = 0  # the viewing Bitrix24 user
    is_admin: bool = False  # user.admin said so (anything less: not an admin)


def frame_verify(*, form: dict, query: dict) -> FrameAuth:
    """Raises AuthRefused (→ 401) or Transient (the authorization server could not be asked)."""
    member_id = str(form.get("member_id") or "")
    access_token = str(form.get("AUTH_ID") or "")
    domain = oauth.host_normalize(str(query.get("DOMAIN") or form.get("DOMAIN") or ""))
    portal = Portal.objects.filter(member_id=member_id).first() if 0 < len(member_id) <= 64 else None
    if portal is None or portal.status == Portal.Status.UNINSTALLED:
        raise AuthRefused(f"frame for portal {member_id[:64]!r}: not installed here")
    if not access_token:
        raise AuthRefused("frame without AUTH_ID")
    sent_token = str(form.get("APPLICATION_TOKEN") or "")
    if sent_token and not hmac.compare_digest(sent_token.encode(), portal.application_token.encode()):
        raise AuthRefused(f"frame for portal {member_id}: wrong application token")
    info = oauth.token_verify(access_token, member_id=portal.member_id, domain="")
    confirmed = oauth.host_normalize(str((info.get("install") or {}).get("domain") or ""))
    if domain and domain != confirmed:
        raise AuthRefused(f"frame for portal {member_id}: DOMAIN {domain!r} is not the portal's")
    if confirmed and confirmed != portal.domain:
        origin = oauth.portal_origin(confirmed)
        portal = portal_domain_change(portal_id=portal.pk, domain=confirmed, client_endpoint=f"{origin}/rest/")
    if portal.status == Portal.Status.NEEDS_REINSTALL and form.get("REFRESH_ID"):
        expires = str(form.get("AUTH_EXPIRES") or "")
        pair = oauth.TokenPair(access_token, str(form["REFRESH_ID"]), int(expires) if expires.isdigit() else 3600)
        portal = portal_tokens_recover(portal_id=portal.pk, token_version=portal.token_version, tokens=pair) or portal
    if not portal.is_installed:
        raise AuthRefused(f"frame for portal {member_id}: its tokens are dead and the frame brought none")
    placement = str(form.get("PLACEMENT") or "DEFAULT")[:64]
    viewer = viewer_get(portal=portal, access_token=access_token, user_id_hint=_user_id(info))
    return FrameAuth(portal, placement, _deal_id(form.get("PLACEMENT_OPTIONS")), access_token,
                     str(query.get("LANG") or "ru")[:5], viewer.user_id, viewer.is_admin)


def _user_id(info: dict) -> int:
    install = info.get("install") if isinstance(info.get("install"), dict) else {}
    return oauth.int_or_none(install.get("user_id") or info.get("user_id")) or 0


def _deal_id(raw) -> int | None:
    """PLACEMENT_OPTIONS is JSON text whose ID is a string: {"ID":"8061"}."""
    try:
        options = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return None
    value = str(options.get("ID") or "") if isinstance(options, dict) else ""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None
