"""PayPlan's own short-lived token for a verified Bitrix24 frame (contract §2.5, step 3).

The frame POST is checked once (frame.frame_verify); the page it opens then calls the widget API with
this token as `Authorization: Bearer …`. It names the portal (`member_id`), the PayPlan account the portal
is linked to, the Bitrix24 user and the install generation, so a reinstall, an uninstall or a relink
kills every token minted before. Signed with a key derived from SECRET_KEY for this purpose only.
"""
import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass

import jwt
from django.conf import settings

from crm.bitrix24.errors import AuthRefused
from crm.bitrix24.frame import FrameAuth
from crm.bitrix24.models import Portal

ISSUER = "payplan:bitrix24-frame"
TOKEN_SECONDS = 3600  # as long as the frame's own AUTH_ID lives
SESSION_SECONDS = 12 * 3600  # renewals stop this long after the frame was opened: reopen the deal
REQUIRED = ["exp", "iat", "nbf", "jti", "aud", "iss", "sub", "acc", "uid", "gen", "ses"]


@dataclass(frozen=True)
class FrameClaims:
    member_id: str
    account_id: int
    user_id: int
    is_admin: bool
    generation: int
    session_started: int


def _key() -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), ISSUER.encode(), hashlib.sha256).digest()


def frame_token_mint(*, auth: FrameAuth) -> str:
    """A token for the frame just verified; AuthRefused when the portal is not linked to an account."""
    portal = auth.portal
    if portal.account_id is None:
        raise AuthRefused(f"portal {portal.member_id} is not linked to a PayPlan account")
    return _encode(FrameClaims(portal.member_id, portal.account_id, auth.user_id, auth.is_admin,
                               portal.install_generation, int(time.time())))


def frame_token_renew(raw: str) -> str:
    """A fresh token for a page whose token is still valid, within the session's lifetime."""
    claims, _ = frame_token_verify(raw)
    if time.time() - claims.session_started > SESSION_SECONDS:
        raise AuthRefused("the frame session is over: reopen the deal in Bitrix24")
    return _encode(claims)


def frame_token_verify(raw: str) -> tuple[FrameClaims, Portal]:
    """Signature, audience, time, then the portal as it is now: installed, the same install, the same
    account. Raises AuthRefused for anything else (fail closed)."""
    try:
        data = jwt.decode(raw, _key(), algorithms=["HS256"], audience=settings.PAYPLAN_PUBLIC_ORIGIN,
                          issuer=ISSUER, options={"require": REQUIRED})
    except jwt.PyJWTError as exc:
        raise AuthRefused(f"frame token not valid: {type(exc).__name__}") from exc
    try:
        claims = FrameClaims(str(data["sub"]), int(data["acc"]), int(data["uid"]), data.get("adm") is True,
                             int(data["gen"]), int(data["ses"]))
    except (TypeError, ValueError) as exc:
        raise AuthRefused("frame token with malformed claims") from exc
    portal = Portal.objects.select_related("account").filter(member_id=claims.member_id).first()
    if (portal is None or not portal.is_installed or portal.install_generation != claims.generation
            or portal.account_id != claims.account_id or not portal.account.is_active):
        raise AuthRefused(f"frame token of portal {claims.member_id[:64]!r} no longer matches its install")
    return claims, portal


def _encode(claims: FrameClaims) -> str:
    now = int(time.time())
    return jwt.encode({
        "iss": ISSUER, "aud": settings.PAYPLAN_PUBLIC_ORIGIN, "jti": uuid.uuid4().hex, "iat": now, "nbf": now,
        "exp": now + TOKEN_SECONDS, "sub": claims.member_id, "acc": claims.account_id, "uid": claims.user_id,
        "adm": claims.is_admin, "gen": claims.generation, "ses": claims.session_started,
    }, _key(), algorithm="HS256")
