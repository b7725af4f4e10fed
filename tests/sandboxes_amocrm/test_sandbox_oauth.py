"""OAuth of the amoCRM sandbox: codes, rotating refresh tokens, consent page, install/uninstall hooks."""

import hashlib
import hmac
from urllib.parse import parse_qs, urlsplit

import jwt

from sandboxes.amocrm import CrmSandbox
from sandboxes.amocrm.seed import ACCOUNTANT_USER_ID, DEMO_ACCOUNT_ID


def test_code_exchange_returns_a_one_day_bearer_pair(sandbox, oauth):
    answer = oauth.exchange(sandbox.issue_code())

    assert answer.status_code == 200
    pair = answer.json()
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == 86400
    assert pair["refresh_token"]
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    assert claims["account_id"] == DEMO_ACCOUNT_ID
    assert claims["aud"] == sandbox.client_id
    assert claims["api_domain"] == sandbox.host


def test_authorization_code_is_single_use(sandbox, oauth):
    code = sandbox.issue_code()
    assert oauth.exchange(code).status_code == 200

    again = oauth.exchange(code)

    assert again.status_code == 400
    assert again.json()["hint"] == "Authorization code has been revoked"


def test_authorization_code_expires_after_twenty_minutes(sandbox, oauth, clock):
    code = oauth.client.post("/_sandbox/codes", json={"account_id": DEMO_ACCOUNT_ID}).json()["code"]
    clock.advance(20 * 60 + 1)

    answer = oauth.exchange(code)

    assert answer.status_code == 400
    assert answer.json()["hint"] == "Authorization code has expired"


def test_wrong_client_secret_and_redirect_uri_are_refused(sandbox, oauth):
    wrong_secret = oauth.client.post("/oauth2/access_token", json={
        "client_id": sandbox.client_id, "client_secret": "nope", "grant_type": "authorization_code",
        "code": sandbox.issue_code(), "redirect_uri": sandbox.redirect_uri})
    wrong_redirect = oauth.client.post("/oauth2/access_token", json={
        "client_id": sandbox.client_id, "client_secret": sandbox.client_secret,
        "grant_type": "authorization_code", "code": sandbox.issue_code(), "redirect_uri": "http://127.0.0.1/x"})

    assert wrong_secret.status_code == 401
    assert wrong_redirect.status_code == 400


def test_refresh_rotates_and_reusing_the_old_refresh_token_is_revoked(sandbox, oauth):
    first = oauth.exchange(sandbox.issue_code()).json()

    second = oauth.refresh(first["refresh_token"])
    reuse = oauth.refresh(first["refresh_token"])

    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    assert reuse.status_code == 401
    assert reuse.headers["Content-Type"].startswith("application/problem+json")
    assert reuse.json()["hint"] == "Token has been revoked"
    assert oauth.refresh(second.json()["refresh_token"]).status_code == 200


def test_refresh_retires_the_access_token_issued_with_it(sandbox, oauth):
    first = oauth.exchange(sandbox.issue_code()).json()
    second = oauth.refresh(first["refresh_token"]).json()
    account = "/api/v4/account"

    old = oauth.client.get(account, headers={"Authorization": f"Bearer {first['access_token']}"})
    new = oauth.client.get(account, headers={"Authorization": f"Bearer {second['access_token']}"})

    assert (old.status_code, new.status_code) == (401, 200)


def test_access_token_dies_after_a_day(crm, clock):
    assert crm.get("/api/v4/account").status_code == 200
    clock.advance(86400 + 1)

    assert crm.get("/api/v4/account").status_code == 401


def test_subdomain_lookup_by_refresh_token(sandbox, oauth):
    pair = oauth.exchange(sandbox.issue_code()).json()

    found = oauth.client.get("/oauth2/account/current/subdomain",
                             headers={"X-Refresh-Token": pair["refresh_token"]})
    unknown = oauth.client.get("/oauth2/account/current/subdomain", headers={"X-Refresh-Token": "nope"})

    assert found.json() == {"id": DEMO_ACCOUNT_ID, "subdomain": "demo", "domain": sandbox.host,
                            "top_level_domain": "ru"}
    assert unknown.status_code == 401


def test_consent_page_allow_redirects_with_code_referer_and_state(sandbox, oauth):
    page = oauth.client.get("/oauth", params={"client_id": sandbox.client_id, "state": "s-42"})
    assert page.status_code == 200
    assert "Allow" in page.text

    allowed = oauth.client.post("/oauth/allow", data={"client_id": sandbox.client_id, "state": "s-42",
                                                      "account_id": str(DEMO_ACCOUNT_ID)})

    assert allowed.status_code == 302
    location = urlsplit(allowed.headers["Location"])
    params = {name: values[0] for name, values in parse_qs(location.query).items()}
    assert f"{location.scheme}://{location.netloc}{location.path}" == sandbox.redirect_uri
    assert params["state"] == "s-42"
    assert params["referer"] == sandbox.host
    assert oauth.exchange(params["code"]).status_code == 200


def test_long_lived_token_works_until_it_expires(sandbox, oauth, clock):
    answer = oauth.client.post("/_sandbox/long-lived-token", json={"expires_in": 3600}).json()
    headers = {"Authorization": f"Bearer {answer['access_token']}"}

    assert oauth.client.get("/api/v4/account", headers=headers).status_code == 200
    clock.advance(3601)
    assert oauth.client.get("/api/v4/account", headers=headers).status_code == 401


def test_non_admin_token_cannot_list_users(sandbox, oauth):
    accountant = oauth.installed_client(user_id=ACCOUNTANT_USER_ID)

    answer = accountant.get("/api/v4/users")

    assert answer.status_code == 403
    assert answer.headers["Content-Type"].startswith("application/problem+json")


def test_install_hook_calls_our_redirect_uri_with_code_referer_and_from_widget(receiver):
    with CrmSandbox(redirect_uri=f"{receiver.url}/amocrm/oauth/callback") as sandbox:
        result = sandbox.simulate_install()
        hooks = receiver.wait_for(1)

    assert result["status"] == 200
    assert hooks[0]["method"] == "GET"
    assert hooks[0]["path"] == "/amocrm/oauth/callback"
    assert hooks[0]["query"] == {"code": result["code"], "referer": sandbox.host, "from_widget": "1"}


def test_install_refuses_a_redirect_uri_off_this_machine(client_for):
    with CrmSandbox(redirect_uri="https://payplan.example.com/amocrm/oauth/callback") as remote:
        answer = client_for(remote).post("/_sandbox/install")

    assert answer.status_code == 400


def test_uninstall_revokes_tokens_and_calls_the_signed_revoke_hook(receiver, client_for):
    with CrmSandbox(revoke_hook_url=f"{receiver.url}/amocrm/revoked") as sandbox:
        client = client_for(sandbox, sandbox.issue_long_lived_token())
        client.post("/_sandbox/uninstall", json={"account_id": DEMO_ACCOUNT_ID})
        after = client.get("/api/v4/account")
        hook = receiver.wait_for(1)[0]

    expected = hmac.new(sandbox.client_secret.encode(), f"{sandbox.client_id}|{DEMO_ACCOUNT_ID}".encode(),
                        hashlib.sha256).hexdigest()
    assert after.status_code == 401
    assert hook["query"] == {"account_id": str(DEMO_ACCOUNT_ID), "client_uuid": sandbox.client_id,
                             "signature": expected}
