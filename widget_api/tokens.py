"""amoCRM disposable tokens: verify one (every widget call) and mint one (local use, demo, tests)."""
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from django.utils.translation import gettext_noop

AMOCRM_HOST_SUFFIXES = (".amocrm.ru", ".amocrm.com", ".kommo.com")
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "jti", "aud", "iss"]
MAX_CRM_ID = 2**63 - 1  # PostgreSQL bigint


class TokenInvalid(Exception):
    """The token is missing, forged, expired or not ours: 401."""


@dataclass(frozen=True)
class TokenClaims:
    account_id: int
    subdomain: str
    user_id: int
    is_admin: bool
    jti: str


def token_verify(raw_token: str) -> TokenClaims:
    """Signature (HS256 only), audience, time window, then client id and issuer host, as amoCRM's library does."""
    try:
        claims = jwt.decode(
            raw_token, settings.AMOCRM_CLIENT_SECRET, algorithms=["HS256"],
            audience=settings.PAYPLAN_PUBLIC_ORIGIN, leeway=settings.AMOCRM_TOKEN_LEEWAY_SECONDS,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenInvalid(gettext_noop("The token has expired.")) from exc
    except jwt.PyJWTError as exc:
        raise TokenInvalid(gettext_noop("The token is not valid.")) from exc
    if claims.get("client_uuid") != settings.AMOCRM_CLIENT_ID:
        raise TokenInvalid(gettext_noop("The token was issued for another integration."))
    _lifetime_check(claims)
    account_id, user_id = _crm_id(claims.get("account_id")), _crm_id(claims.get("user_id"))
    subdomain = claims.get("subdomain")
    if account_id is None or user_id is None or not isinstance(subdomain, str) or not subdomain:
        raise TokenInvalid(gettext_noop("The token lacks a valid account, user or subdomain."))
    subdomain = subdomain.lower()
    host = (urlsplit(str(claims["iss"])).hostname or str(claims["iss"])).lower()
    if host not in {subdomain + suffix for suffix in AMOCRM_HOST_SUFFIXES}:
        raise TokenInvalid(gettext_noop("The token's issuer does not match its subdomain."))
    # Only a JSON `true` grants admin rights: "true", 1 or "1" are a malformed claim, not a yes.
    return TokenClaims(account_id=account_id, subdomain=subdomain, user_id=user_id,
                       is_admin=claims.get("is_admin") is True, jti=str(claims["jti"]))


def _lifetime_check(claims: dict) -> None:
    """amoCRM issues 30-minute tokens: a longer-lived one was not made by amoCRM (the demo mints its own)."""
    if settings.PAYPLAN_DEMO:
        return
    cap = settings.AMOCRM_TOKEN_MAX_LIFETIME_SECONDS + settings.AMOCRM_TOKEN_LEEWAY_SECONDS
    exp, iat = claims["exp"], claims["iat"]
    if not all(isinstance(value, int | float) and not isinstance(value, bool) for value in (exp, iat)):
        raise TokenInvalid(gettext_noop("The token's time claims are not numbers."))
    if exp - iat > cap or exp - time.time() > cap:
        raise TokenInvalid(gettext_noop("The token lives longer than amoCRM's tokens do."))


def _crm_id(raw: object) -> int | None:
    """An amoCRM id: a positive integer that fits a bigint (a digit string is read as one, as libraries do)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
        raw = int(raw)
    return raw if isinstance(raw, int) and 0 < raw <= MAX_CRM_ID else None


def token_mint(*, account_id: int, subdomain: str, user_id: int, ttl_seconds: int = 1800,
               is_admin: bool = False) -> str:
    """A token shaped exactly like amoCRM's, signed with our client secret."""
    now = int(time.time())
    claims = {
        "iss": f"https://{subdomain}.amocrm.ru", "aud": settings.PAYPLAN_PUBLIC_ORIGIN,
        "jti": str(uuid.uuid4()), "iat": now, "nbf": now, "exp": now + ttl_seconds,
        "account_id": account_id, "subdomain": subdomain, "user_id": user_id,
        "client_uuid": settings.AMOCRM_CLIENT_ID, "is_admin": is_admin,
    }
    return jwt.encode(claims, settings.AMOCRM_CLIENT_SECRET, algorithm="HS256")
