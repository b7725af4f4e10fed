"""Disposable-token auth: only a genuine, live token of an installed account gets in."""
import time

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.conftest import assert_error

pytestmark = pytest.mark.django_db
PATH = "/api/v1/deals/31337"


def claims(account, **overrides) -> dict:
    now = int(time.time())
    base = {"iss": f"https://{account.subdomain}.amocrm.ru", "aud": settings.PAYPLAN_PUBLIC_ORIGIN,
            "jti": "2f0c6a4e-9d1b-4c7e-a6a5-0b8f3e1d2c44", "iat": now, "nbf": now, "exp": now + 1800,
            "account_id": account.amocrm_account_id, "subdomain": account.subdomain, "user_id": 8765432,
            "client_uuid": settings.AMOCRM_CLIENT_ID, "is_admin": False}
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def call(token: str | None):
    headers = {"HTTP_X_AUTH_TOKEN": token} if token is not None else {}
    return APIClient().get(PATH, **headers)


def sign(payload: dict, secret: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, secret or settings.AMOCRM_CLIENT_SECRET, algorithm=algorithm)


def test_a_genuine_token_is_accepted(account):
    assert call(sign(claims(account))).status_code == 200


def test_kommo_and_amocrm_com_issuers_are_accepted(account):
    assert call(sign(claims(account, iss="https://school.kommo.com"))).status_code == 200
    assert call(sign(claims(account, iss="https://school.amocrm.com"))).status_code == 200


def test_missing_token_is_401(account):
    assert_error(call(None), 401, "not_authenticated")


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda a: sign(claims(a), secret="another-secret-that-is-long-enough-32b"), id="forged"),
    pytest.param(lambda a: sign(claims(a, exp=int(time.time()) - 120)), id="expired"),
    pytest.param(lambda a: sign(claims(a, nbf=int(time.time()) + 600)), id="not-yet-valid"),
    pytest.param(lambda a: sign(claims(a, aud="https://evil.example")), id="wrong-audience"),
    pytest.param(lambda a: sign(claims(a, client_uuid="someone-else")), id="other-integration"),
    pytest.param(lambda a: sign(claims(a, iss="https://evil.amocrm.ru")), id="issuer-not-subdomain"),
    pytest.param(lambda a: sign(claims(a, iss="https://school.amocrm.ru.evil.com")), id="issuer-lookalike"),
    pytest.param(lambda a: sign(claims(a, jti=None)), id="no-jti"),
    pytest.param(lambda a: sign(claims(a, exp=None)), id="no-exp"),
    pytest.param(lambda a: sign(claims(a, account_id="abc")), id="account-id-not-int"),
    pytest.param(lambda a: jwt.encode(claims(a), None, algorithm="none"), id="alg-none"),
    pytest.param(lambda a: sign(claims(a), algorithm="HS512"), id="alg-hs512"),
    pytest.param(lambda a: "not.a.jwt", id="garbage"),
    pytest.param(lambda a: "", id="empty"),
])
def test_bad_tokens_are_401(account, mutate):
    assert_error(call(mutate(account)), 401)


def test_token_of_an_account_that_is_not_installed_is_403(account):
    assert_error(call(sign(claims(account, account_id=999, subdomain="ghost", iss="https://ghost.amocrm.ru"))),
                 403, "account_not_installed")


def test_token_whose_subdomain_names_another_account_is_403(account, other_account):
    token = sign(claims(account, subdomain="lawyers", iss="https://lawyers.amocrm.ru"))
    assert_error(call(token), 403, "account_not_installed")


def test_cors_preflight_from_amocrm_is_answered_without_auth(account):
    response = APIClient().options(PATH, HTTP_ORIGIN="https://school.amocrm.ru",
                                   HTTP_ACCESS_CONTROL_REQUEST_METHOD="PUT",
                                   HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-auth-token,idempotency-key")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://school.amocrm.ru"
    assert "x-auth-token" in response["Access-Control-Allow-Headers"]


def test_cors_refuses_foreign_origins(account):
    response = APIClient().options(PATH, HTTP_ORIGIN="https://evil.example",
                                   HTTP_ACCESS_CONTROL_REQUEST_METHOD="PUT")
    assert "Access-Control-Allow-Origin" not in response
