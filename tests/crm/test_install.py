"""Installation over OAuth: the callback connects the account; a bad code or referer stores nothing."""
import hashlib
import hmac
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core import signing
from django.db import connection as db
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import Account
from billing.services import account_create
from crm.amocrm import oauth
from crm.amocrm.install import crm_install_finish, crm_revoke_confirm
from crm.amocrm.models import CrmConnection
from sandboxes.amocrm.seed import DEMO_ACCOUNT_ID
from tests.crm.conftest import calls, install

pytestmark = pytest.mark.django_db


def test_callback_creates_the_account_and_stores_tokens_encrypted(sandbox):
    response = install(sandbox)

    assert response.status_code == 200
    assert "PayPlan подключён" in response.content.decode()
    account = Account.objects.get(crm_account_id=DEMO_ACCOUNT_ID)
    assert (account.slug, account.host, account.time_zone) == ("demo", sandbox.host, "Europe/Moscow")
    connection = account.crm_connection
    assert (connection.status, connection.base_url, connection.token_version) == ("connected", sandbox.url, 1)
    assert connection.access_token
    assert connection.refresh_token
    with db.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM widget_api_crmconnection")
        stored = cursor.fetchone()
    assert connection.access_token not in stored[0]
    assert connection.refresh_token not in stored[1]
    token_calls = calls(sandbox, "POST", "/oauth2/access_token")
    assert [entry.body["grant_type"] for entry in token_calls] == ["authorization_code"]


def test_reinstall_keeps_the_gateway_credentials_and_settings(sandbox):
    account_create(crm_account_id=DEMO_ACCOUNT_ID, slug="demo", cloudpayments_public_id="pk_demo",
                   cloudpayments_api_secret="demo-secret", time_zone="Asia/Yekaterinburg")
    Account.objects.filter(crm_account_id=DEMO_ACCOUNT_ID).update(settings={"invoice_lead_days": 3})
    first = install(sandbox)
    second = install(sandbox)

    assert first.status_code == second.status_code == 200
    account = Account.objects.get(crm_account_id=DEMO_ACCOUNT_ID)
    assert (account.cloudpayments_public_id, account.cloudpayments_api_secret) == ("pk_demo", "demo-secret")
    assert (account.time_zone, account.settings, account.host) == ("Asia/Yekaterinburg", {"invoice_lead_days": 3},
                                                                    sandbox.host)
    assert account.crm_connection.token_version == 2
    assert Account.objects.count() == CrmConnection.objects.count() == 1


@pytest.mark.parametrize("code", ["forged", ""])
def test_a_bad_code_shows_an_error_page_and_creates_nothing(sandbox, code):
    response = install(sandbox, code=code)

    assert response.status_code == 400
    assert "PayPlan не подключён" in response.content.decode()
    assert Account.objects.count() == 0


def test_a_reused_code_is_refused_and_changes_nothing(sandbox):
    code = sandbox.issue_code()
    assert install(sandbox, code=code).status_code == 200

    response = install(sandbox, code=code)

    assert response.status_code == 400
    assert "already used" in response.content.decode()
    assert Account.objects.count() == 1
    assert CrmConnection.objects.get().token_version == 1


def test_a_foreign_referer_is_refused_before_our_secret_goes_anywhere(sandbox):
    response = install(sandbox, referer="evil.example.com")

    assert response.status_code == 400
    assert "is not the address of an amoCRM account" in response.content.decode()
    assert Account.objects.count() == 0
    assert sandbox.journal == []


def test_a_loopback_referer_is_refused_unless_allowed(sandbox, settings):
    settings.AMOCRM_ALLOW_LOOPBACK = False
    assert install(sandbox).status_code == 400
    assert Account.objects.count() == 0


def test_a_loopback_referer_is_refused_outside_demo_mode_whatever_else_says_so(sandbox, settings):
    settings.PAYPLAN_DEMO = False
    settings.AMOCRM_ALLOW_LOOPBACK = True

    response = install(sandbox)

    assert response.status_code == 400
    assert "is not the address of an amoCRM account" in response.content.decode()
    assert Account.objects.count() == 0
    assert sandbox.journal == []


def test_the_install_link_carries_a_state_that_the_callback_accepts_once(sandbox, settings):
    settings.AMOCRM_OAUTH_URL = f"{sandbox.url}/oauth"
    start = APIClient().get("/amocrm/install")
    assert start.status_code == 302
    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["client_id"] == [settings.AMOCRM_CLIENT_ID]
    state = query["state"][0]

    assert install(sandbox, from_widget=None, state=state).status_code == 200
    replayed = install(sandbox, from_widget=None, state=state)

    assert replayed.status_code == 400
    assert "Эта ссылка установки уже использована" in replayed.content.decode()
    assert CrmConnection.objects.get().install_generation == 1
    assert len(calls(sandbox, "POST", "/oauth2/access_token")) == 1  # the replay's code was never exchanged


@pytest.mark.parametrize("from_widget", ["1", None], ids=["widget-install", "button-install"])
def test_a_callback_without_state_is_refused_and_its_code_never_exchanged(sandbox, from_widget):
    response = install(sandbox, from_widget=from_widget, state=None)

    assert response.status_code == 400
    page = response.content.decode()
    assert "PayPlan не подключён" in page
    assert "amoCRM не передал подтверждение установки PayPlan" in page
    assert 'href="/amocrm/install"' in page
    assert Account.objects.count() == 0
    assert sandbox.journal == []


@pytest.mark.parametrize("state", [
    pytest.param(lambda: "forged", id="forged"),
    pytest.param(lambda: signing.dumps({"for": "install", "nonce": "x" * 32}, salt="another-salt"), id="other-salt"),
    pytest.param(lambda: signing.dumps({"for": "install"}, salt=oauth.STATE_SALT), id="no-nonce"),
    pytest.param(lambda: signing.dumps(["nonce"], salt=oauth.STATE_SALT), id="not-an-object"),
])
def test_a_forged_state_is_refused(sandbox, state):
    response = install(sandbox, state=state())

    assert response.status_code == 400
    assert "Ссылка установки устарела или создана не PayPlan" in response.content.decode()
    assert Account.objects.count() == 0
    assert sandbox.journal == []


def test_an_expired_state_is_refused(sandbox):
    state = oauth.state_make()
    with time_machine.travel(timezone.now() + timedelta(seconds=oauth.STATE_MAX_AGE_SECONDS + 5)):
        response = install(sandbox, state=state)

    assert response.status_code == 400
    assert "Ссылка установки устарела" in response.content.decode()
    assert Account.objects.count() == 0


def _revoke_hook(settings, account_id=DEMO_ACCOUNT_ID, signature: str | None = None):
    signature = signature or hmac.new(settings.AMOCRM_CLIENT_SECRET.encode(),
                                      f"{settings.AMOCRM_CLIENT_ID}|{account_id}".encode(),
                                      hashlib.sha256).hexdigest()
    return APIClient().get("/amocrm/oauth/revoked", {"account_id": account_id, "client_uuid": settings.AMOCRM_CLIENT_ID,
                                                     "signature": signature})


def test_a_forged_revoke_hook_is_403_and_changes_nothing(sandbox, settings, django_capture_on_commit_callbacks):
    install(sandbox)
    with django_capture_on_commit_callbacks(execute=True):
        forged = _revoke_hook(settings, signature="0" * 64)
    assert forged.status_code == 403
    assert CrmConnection.objects.get().status == "connected"


def test_the_access_revoked_hook_disconnects_once_amocrm_confirms_and_keeps_everything(
        sandbox, settings, django_capture_on_commit_callbacks):
    install(sandbox)
    with sandbox.lock:
        sandbox.oauth.revoke_account(DEMO_ACCOUNT_ID)  # what switching the integration off does at amoCRM

    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post("/amocrm/oauth/revoked", {
            "account_id": DEMO_ACCOUNT_ID, "client_uuid": settings.AMOCRM_CLIENT_ID,
            "signature": hmac.new(settings.AMOCRM_CLIENT_SECRET.encode(),
                                  f"{settings.AMOCRM_CLIENT_ID}|{DEMO_ACCOUNT_ID}".encode(),
                                  hashlib.sha256).hexdigest()}, format="json")

    assert response.status_code == 200
    connection = CrmConnection.objects.get()
    assert (connection.status, connection.access_token, connection.refresh_token) == ("disconnected", "", "")
    assert Account.objects.filter(crm_account_id=DEMO_ACCOUNT_ID, is_active=True).exists()


def test_a_revoke_hook_replayed_after_a_reinstall_does_nothing(sandbox, settings, django_capture_on_commit_callbacks):
    install(sandbox)
    with sandbox.lock:
        sandbox.oauth.revoke_account(DEMO_ACCOUNT_ID)
    with django_capture_on_commit_callbacks(execute=True):
        assert _revoke_hook(settings).status_code == 200
    assert CrmConnection.objects.get().status == "disconnected"
    assert install(sandbox).status_code == 200  # the admin installs PayPlan again
    reinstalled = CrmConnection.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        replayed = _revoke_hook(settings)  # the very same request, captured earlier

    assert replayed.status_code == 200  # amoCRM's hook gets its 2xx either way
    connection = CrmConnection.objects.get()
    assert (connection.status, connection.install_generation) == ("connected", reinstalled.install_generation)
    assert connection.access_token == reinstalled.access_token


def test_a_revoke_confirmation_for_an_earlier_installation_is_stale(sandbox):
    install(sandbox)
    first = CrmConnection.objects.get().install_generation
    install(sandbox)
    with sandbox.lock:
        sandbox.oauth.revoke_account(DEMO_ACCOUNT_ID)

    assert crm_revoke_confirm(account_id=CrmConnection.objects.get().account_id, install_generation=first) == "stale"
    assert CrmConnection.objects.get().status == "connected"


def test_after_install_lead_hooks_are_subscribed_and_fields_mapped_by_name(sandbox, settings):
    settings.AMOCRM_REDIRECT_URI = sandbox.redirect_uri
    settings.PAYPLAN_PUBLIC_ORIGIN = "http://127.0.0.1:8000"  # the sandbox only calls loopback destinations
    install(sandbox)
    account = Account.objects.get(crm_account_id=DEMO_ACCOUNT_ID)

    crm_install_finish(account_id=account.pk)

    hooks = list(sandbox.account().webhooks.values())
    assert [hook.destination for hook in hooks] == [f"http://127.0.0.1:8000/amocrm/webhooks/{account.webhook_key}"]
    assert {"add_lead", "update_lead", "status_lead", "delete_lead"} <= set(hooks[0].settings)
    account.refresh_from_db()
    assert account.settings["custom_fields"] == {
        "total": 512341, "received": 512342, "debt": 512343, "payments_count": 512344, "monthly_payment": 512345,
        "last_payment_day": 512346, "group": 512347, "education_direction": 512348}
