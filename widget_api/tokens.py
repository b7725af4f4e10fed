"""amoCRM disposable tokens: verify one (every widget call) and mint one (local use, demo, tests)."""
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt
from django.conf import settings

AMOCRM_HOST_SUFFIXES = (".amocrm.ru", ".amocrm.com", ".kommo.com")
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "jti", "aud", "iss"]


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
        raise TokenInvalid("The token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise TokenInvalid("The token is not valid.") from exc
    if claims.get("client_uuid") != settings.AMOCRM_CLIENT_ID:
        raise TokenInvalid("The token was issued for another integration.")
    try:
        account_id, user_id = int(claims["account_id"]), int(claims["user_id"])
        subdomain = str(claims["subdomain"]).lower()
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenInvalid("The token lacks account_id, user_id or subdomain.") from exc
    host = (urlsplit(str(claims["iss"])).hostname or str(claims["iss"])).lower()
    if host not in {subdomain + suffix for suffix in AMOCRM_HOST_SUFFIXES}:
        raise TokenInvalid("The token's issuer does not match its subdomain.")
    return TokenClaims(account_id=account_id, subdomain=subdomain, user_id=user_id,
                       is_admin=bool(claims.get("is_admin", False)), jti=str(claims["jti"]))


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
