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
    base = {"iss": f"https://{account.slug}.amocrm.ru", "aud": settings.PAYPLAN_PUBLIC_ORIGIN,
            "jti": "2f0c6a4e-9d1b-4c7e-a6a5-0b8f3e1d2c44", "iat": now, "nbf": now, "exp": now + 1800,
            "account_id": account.crm_account_id, "subdomain": account.slug, "user_id": 8765432,
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


def is_admin(token: str) -> bool:
    """What the widget API's permission check sees (WritesByAdmins reads request.user.is_admin)."""
    from rest_framework.test import APIRequestFactory

    from widget_api.auth import AmoDisposableTokenAuthentication

    request = APIRequestFactory().get(PATH, HTTP_X_AUTH_TOKEN=token)
    user, _ = AmoDisposableTokenAuthentication().authenticate(request)
    return user.is_admin


def test_is_admin_true_grants_admin_rights(account):
    assert is_admin(sign(claims(account, is_admin=True))) is True


@pytest.mark.parametrize("claim", ["true", 1, "1", "True", [True], {"a": True}, None])
def test_is_admin_other_than_json_true_is_not_admin(account, claim):
    assert is_admin(sign(claims(account, is_admin=claim))) is False


@pytest.mark.parametrize("overrides", [
    pytest.param(lambda now: {"exp": now + 3 * 3600}, id="three-hours"),
    pytest.param(lambda now: {"exp": now + 1800 + 31 + 60}, id="just-past-cap"),
    pytest.param(lambda now: {"iat": now - 600, "nbf": now - 600, "exp": now + 1800}, id="exp-minus-iat-too-long"),
    pytest.param(lambda now: {"iat": now + 20, "nbf": now, "exp": now + 3 * 3600}, id="future-iat-long-exp"),
])
def test_tokens_living_longer_than_amocrms_are_401(account, overrides):
    now = int(time.time())
    assert_error(call(sign(claims(account, **overrides(now)))), 401, "invalid_token")


def test_a_thirty_minute_token_with_leeway_is_accepted(account):
    now = int(time.time())
    assert call(sign(claims(account, iat=now - 10, nbf=now - 10, exp=now + 1800 + 20))).status_code == 200


def test_long_lived_tokens_are_accepted_in_demo_mode_only(account, settings):
    token = sign(claims(account, exp=int(time.time()) + 12 * 3600))
    settings.PAYPLAN_DEMO = True
    assert call(token).status_code == 200
    settings.PAYPLAN_DEMO = False
    assert_error(call(token), 401)


@pytest.mark.parametrize("user_id", [2**63, 10**30, -5, 0, "12a", 1.5, True, None, "9" * 40, "８７"])
def test_user_id_out_of_range_or_not_an_integer_is_401_with_the_contract_body(account, user_id):
    payload = claims(account)
    payload["user_id"] = user_id
    assert_error(call(sign(payload)), 401, "invalid_token")


@pytest.mark.parametrize("account_id", [2**63, -1, True, 1.0])
def test_account_id_out_of_range_is_401(account, account_id):
    assert_error(call(sign(claims(account, account_id=account_id))), 401)


def test_a_digit_string_user_id_is_read_as_the_number(account):
    assert call(sign(claims(account, user_id="8765432"))).status_code == 200
