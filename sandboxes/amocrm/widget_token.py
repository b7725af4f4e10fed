"""The disposable widget token (`X-Auth-Token`): HS256 JWT keyed with the integration's client_secret."""

from __future__ import annotations

import uuid

import jwt

WIDGET_TOKEN_TTL_SECONDS = 1800


def widget_token_encode(*, secret: str, client_id: str, account_id: int, subdomain: str, user_id: int,
                        aud: str, now: int, exp_in: int = WIDGET_TOKEN_TTL_SECONDS, iss: str | None = None,
                        is_admin: bool = False) -> str:
    """Claims as amoCRM's `$authorizedAjax` sends them; `exp_in` may be negative to mint an expired token."""
    claims = {
        "iss": iss or f"https://{subdomain}.amocrm.ru",
        "aud": aud,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + exp_in,
        "account_id": account_id,
        "subdomain": subdomain,
        "user_id": user_id,
        "client_uuid": client_id,
        "is_admin": is_admin,
    }
    return jwt.encode(claims, secret.encode(), algorithm="HS256")
