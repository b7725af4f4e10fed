"""The disposable widget token minted by the sandbox verifies with the contract's PyJWT recipe."""

import jwt
import pytest

from sandboxes.amocrm.seed import ADMIN_USER_ID, DEMO_ACCOUNT_ID

REQUIRED = ["exp", "iat", "nbf", "jti", "aud", "iss"]


def verify(sandbox, token, audience=None):
    return jwt.decode(token, sandbox.client_secret, algorithms=["HS256"], audience=audience or sandbox.audience,
                      leeway=30, options={"require": REQUIRED})


def test_minted_token_verifies_and_carries_the_section_two_claims(sandbox):
    token = sandbox.mint_widget_token(DEMO_ACCOUNT_ID, ADMIN_USER_ID, is_admin=True)

    claims = verify(sandbox, token)

    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert claims["iss"] == "https://demo.amocrm.ru"
    assert claims["aud"] == "http://127.0.0.1:8000"
    assert claims["exp"] - claims["iat"] == 1800
    assert claims["nbf"] == claims["iat"]
    assert (claims["account_id"], claims["subdomain"], claims["user_id"]) == (DEMO_ACCOUNT_ID, "demo", ADMIN_USER_ID)
    assert claims["client_uuid"] == sandbox.client_id
    assert claims["is_admin"] is True
    assert len(claims["jti"]) == 36


def test_control_endpoint_mints_with_chosen_audience(sandbox, crm):
    token = crm.post("/_sandbox/token", json={"account_id": DEMO_ACCOUNT_ID, "user_id": ADMIN_USER_ID,
                                              "exp_in": 60, "aud": "https://payplan.example.com"}).json()["token"]

    claims = verify(sandbox, token, "https://payplan.example.com")

    assert claims["exp"] - claims["iat"] == 60


@pytest.mark.parametrize(("options", "error"), [
    ({"secret": "another-secret-of-thirty-two-bytes"}, jwt.InvalidSignatureError),
    ({"aud": "https://evil.example.com"}, jwt.InvalidAudienceError),
    ({"exp_in": -120}, jwt.ExpiredSignatureError),
])
def test_negative_tokens_fail_verification(sandbox, options, error):
    token = sandbox.mint_widget_token(DEMO_ACCOUNT_ID, ADMIN_USER_ID, **options)

    with pytest.raises(error):
        verify(sandbox, token)


def test_token_for_a_foreign_account_still_verifies_but_names_that_account(sandbox):
    claims = verify(sandbox, sandbox.mint_widget_token(99, 1, subdomain="stranger"))

    assert (claims["account_id"], claims["iss"]) == (99, "https://stranger.amocrm.ru")
