"""OAuth 2.0 server of the sandbox: authorization codes, rotating refresh tokens, access and long-lived tokens."""

from __future__ import annotations

import functools
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CODE_TTL_SECONDS = 20 * 60
ACCESS_TTL_SECONDS = 86400
REFRESH_TTL_SECONDS = 90 * 86400
OAUTH_PROBLEM_TYPE = "https://developers.amocrm.ru/v3/errors/OAuthProblemJson"


class OAuthError(Exception):
    """An OAuth failure in amoCRM's shape (league/oauth2-server messages, amoCRM problem type)."""

    def __init__(self, status: int, hint: str, detail: str = "Request parameters are missing or invalid"):
        super().__init__(hint)
        self.status = status
        self.body = {"hint": hint, "title": "Unauthorized" if status == 401 else "Bad Request",
                     "type": OAUTH_PROBLEM_TYPE, "status": status, "detail": detail}


@dataclass
class Grant:
    """Who a code or token speaks for, and until when."""

    account_id: int
    user_id: int
    expires_at: float
    revoked: bool = False
    refresh_token: str | None = None  # on access tokens: the refresh token issued with it


@functools.cache
def _signing_key() -> rsa.RSAPrivateKey:
    # One key per process: generating RSA keys is slow and the signature is never checked by clients.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class OAuthServer:
    def __init__(self, client_id: str, client_secret: str, redirect_uri: str, clock: Callable[[], float],
                 *, revoke_access_on_refresh: bool = True):
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.clock = clock
        self.revoke_access_on_refresh = revoke_access_on_refresh
        self.codes: dict[str, Grant] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}

    def issue_code(self, account_id: int, user_id: int) -> str:
        code = "def50200" + secrets.token_hex(64)
        self.codes[code] = Grant(account_id, user_id, self.clock() + CODE_TTL_SECONDS)
        return code

    def exchange(self, body: object, api_domain: str) -> dict:
        """Answer `POST /oauth2/access_token` for both grants; raises OAuthError."""
        if not isinstance(body, dict):
            raise OAuthError(400, "Check the `grant_type` parameter")
        if body.get("client_id") != self.client_id or body.get("client_secret") != self.client_secret:
            raise OAuthError(401, "Client authentication failed", "Client authentication failed")
        grant_type = body.get("grant_type")
        if grant_type == "authorization_code":
            if body.get("redirect_uri") != self.redirect_uri:
                raise OAuthError(400, "Check the `redirect_uri` parameter")
            grant = self._consume(self.codes, body.get("code"), "Authorization code", 400)
        elif grant_type == "refresh_token":
            grant = self._consume(self.refresh_tokens, body.get("refresh_token"), "Token", 401)
            if self.revoke_access_on_refresh:
                for token in self.access_tokens.values():
                    if token.refresh_token == body["refresh_token"]:
                        token.revoked = True
        else:
            raise OAuthError(400, "Check the `grant_type` parameter",
                             "The authorization grant type is not supported by the authorization server")
        return self._issue_pair(grant.account_id, grant.user_id, api_domain)

    def _consume(self, store: dict[str, Grant], key: object, noun: str, status: int) -> Grant:
        grant = store.get(key) if isinstance(key, str) else None
        if grant is None:
            raise OAuthError(status, f"Cannot decrypt the {noun.lower()}")
        if grant.revoked:
            raise OAuthError(status, f"{noun} has been revoked")
        if grant.expires_at <= self.clock():
            raise OAuthError(status, f"{noun} has expired")
        grant.revoked = True
        return grant

    def _issue_pair(self, account_id: int, user_id: int, api_domain: str) -> dict:
        refresh_token = "def50200" + secrets.token_hex(96)
        now = self.clock()
        self.refresh_tokens[refresh_token] = Grant(account_id, user_id, now + REFRESH_TTL_SECONDS)
        access_token = self._access_token(account_id, user_id, ACCESS_TTL_SECONDS, api_domain, refresh_token)
        return {"token_type": "Bearer", "expires_in": ACCESS_TTL_SECONDS, "access_token": access_token,
                "refresh_token": refresh_token}

    def issue_long_lived(self, account_id: int, user_id: int, expires_in: int, api_domain: str) -> str:
        """A private integration's long-lived token: no refresh token, dies at expiry or on revocation."""
        return self._access_token(account_id, user_id, expires_in, api_domain, None)

    def _access_token(self, account_id: int, user_id: int, ttl: int, api_domain: str,
                      refresh_token: str | None) -> str:
        now = int(self.clock())
        claims = {"aud": self.client_id, "jti": str(uuid.uuid4()), "iat": now, "nbf": now, "exp": now + ttl,
                  "sub": str(user_id), "grant_type": "", "account_id": account_id,
                  "base_domain": "amocrm.ru", "version": 2, "scopes": ["crm", "notifications"],
                  "api_domain": api_domain}
        token = jwt.encode(claims, _signing_key(), algorithm="RS256", headers={"kid": "sandbox"})
        self.access_tokens[token] = Grant(account_id, user_id, now + ttl, refresh_token=refresh_token)
        return token

    def authenticate(self, access_token: str | None) -> Grant | None:
        grant = self.access_tokens.get(access_token) if access_token else None
        if grant is None or grant.revoked or grant.expires_at <= self.clock():
            return None
        return grant

    def account_for_refresh_token(self, refresh_token: str | None) -> int | None:
        grant = self.refresh_tokens.get(refresh_token) if refresh_token else None
        if grant is None or grant.revoked or grant.expires_at <= self.clock():
            return None
        return grant.account_id

    def revoke_account(self, account_id: int) -> None:
        """The account switched the integration off: every code and token it had dies."""
        for store in (self.codes, self.access_tokens, self.refresh_tokens):
            for grant in store.values():
                if grant.account_id == account_id:
                    grant.revoked = True
