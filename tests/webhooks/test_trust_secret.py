"""No payment without a real secret: an empty secret verifies nothing, the receiving service refuses an
account without one, new installs start disconnected, and the keys are the admin's, write-only."""
import hashlib
from io import StringIO

import pytest
from django.core.management import call_command

from billing.gateway.signature import sign, verify_notification
from billing.models import Account, GatewayEvent, Payment
from billing.services.accounts import account_install
from tests.conftest import WidgetClient, assert_error
from tests.webhooks.conftest import Notifier, pay_fields

pytestmark = pytest.mark.django_db
SETTINGS = "/api/v1/account/settings"
SELF_TEST = "/api/v1/account/cloudpayments/test"
BODY = b"TransactionId=1&Amount=10.00&InvoiceId=2026-000001"


class AdminClient(WidgetClient):
    def headers(self, idempotency_key=None):
        from widget_api.tokens import token_mint

        return {"HTTP_X_AUTH_TOKEN": token_mint(account_id=self.account.crm_account_id,
                                                subdomain=self.account.slug, user_id=self.user_id,
                                                is_admin=True)}


@pytest.fixture
def admin(account):
    return AdminClient(account)


def _disconnect(account) -> Account:
    Account.objects.filter(pk=account.pk).update(cloudpayments_public_id="", cloudpayments_api_secret="")
    return Account.objects.get(pk=account.pk)


@pytest.mark.parametrize("secret", ["", None, "   "])
def test_an_empty_secret_verifies_nothing_even_a_body_signed_with_an_empty_key(secret):
    forged = sign("", BODY)  # anyone can compute this
    assert not verify_notification(secret, BODY, forged, None)
    assert not verify_notification(secret, BODY, None, forged)


def test_a_real_secret_still_verifies():
    assert verify_notification("school-api-secret", BODY, sign("school-api-secret", BODY), None)


def test_a_notification_for_an_account_without_a_secret_is_401_rejected_and_records_nothing(account, invoiced):
    account = _disconnect(account)
    response = Notifier(account).post("pay", pay_fields(invoiced), secret="")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "cloudpayments_not_connected"
    assert not Payment.objects.exists()
    event = GatewayEvent.objects.get()
    assert (event.status, event.signature_valid) == ("rejected", False)


def test_the_receiving_service_refuses_a_missing_secret_even_if_verification_were_fooled(account, invoiced,
                                                                                        monkeypatch):
    monkeypatch.setattr("billing.gateway.cloudpayments_notifications.verify_notification", lambda *args: True)
    account = _disconnect(account)
    response = Notifier(account).post("pay", pay_fields(invoiced), secret="anything")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "cloudpayments_not_connected"
    assert not Payment.objects.exists()
    assert GatewayEvent.objects.get().status == "rejected"
    invoiced.refresh_from_db()
    assert invoiced.status == "issued"


def test_an_amocrm_install_starts_with_cloudpayments_not_connected(db):
    account = account_install(crm_account_id=4242, slug="newschool", host="newschool.amocrm.ru")
    assert (account.cloudpayments_public_id, account.cloudpayments_api_secret) == ("", "")
    assert not account.cloudpayments_connected
    body = WidgetClient(account).get(SETTINGS).json()["cloudpayments"]
    assert (body["connected"], body["api_secret_set"], body["public_id"]) == (False, False, "")


def test_the_admin_enters_the_keys_and_no_get_ever_returns_the_secret(admin, account, widget):
    _disconnect(account)
    response = admin.patch(SETTINGS, {"cloudpayments": {"public_id": "pk_new", "api_secret": "brand-new-secret-1"}})
    assert response.status_code == 200, response.content
    assert b"brand-new-secret-1" not in response.content
    account.refresh_from_db()
    assert (account.cloudpayments_public_id, account.cloudpayments_api_secret) == ("pk_new", "brand-new-secret-1")
    for client in (admin, widget):
        got = client.get(SETTINGS)
        assert b"brand-new-secret-1" not in got.content
        body = got.json()["cloudpayments"]
        assert "api_secret" not in body
        assert (body["public_id"], body["api_secret_set"], body["connected"]) == ("pk_new", True, True)


def test_a_blank_secret_keeps_the_stored_one_and_clear_disconnects(admin, account):
    assert admin.patch(SETTINGS, {"cloudpayments": {"public_id": "pk_school", "api_secret": ""}}).status_code == 200
    account.refresh_from_db()
    assert account.cloudpayments_api_secret == "school-api-secret"
    assert admin.patch(SETTINGS, {"cloudpayments": {"clear_api_secret": True}}).json()["cloudpayments"]["connected"] \
        is False
    account.refresh_from_db()
    assert account.cloudpayments_api_secret == ""


def test_a_non_admin_cannot_change_the_keys_or_run_the_check(widget, account):
    response = widget.patch(SETTINGS, {"cloudpayments": {"public_id": "pk_evil", "api_secret": "evil-secret-1"}})
    assert_error(response, 403, "admin_required")
    assert_error(widget.post(SELF_TEST, {}), 403, "admin_required")
    account.refresh_from_db()
    assert (account.cloudpayments_public_id, account.cloudpayments_api_secret) == ("pk_school", "school-api-secret")


@pytest.mark.parametrize("secret", ["short", "has space inside", "x" * 257])
def test_a_malformed_secret_is_422_and_changes_nothing(admin, account, secret):
    response = admin.patch(SETTINGS, {"cloudpayments": {"api_secret": secret}})
    assert_error(response, 422, field="cloudpayments.api_secret")
    account.refresh_from_db()
    assert account.cloudpayments_api_secret == "school-api-secret"


def test_the_settings_show_the_exact_notification_urls(widget, account):
    urls = widget.get(SETTINGS).json()["cloudpayments"]["notification_urls"]
    base = f"https://payplan.test/webhooks/cloudpayments/{account.webhook_key}"
    assert urls == {kind: f"{base}/{kind}" for kind in
                    ("check", "pay", "fail", "confirm", "refund", "cancel", "recurrent")}


def test_the_admin_sets_the_test_mode_flag(admin, account):
    assert admin.patch(SETTINGS, {"cloudpayments": {"test_mode": True}}).json()["cloudpayments"]["test_mode"] is True
    account.refresh_from_db()
    assert account.cloudpayments_test_mode is True


def test_the_self_test_verifies_the_stored_secret_in_process_and_leaves_nothing(admin, account, invoiced):
    response = admin.post(SELF_TEST, {})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["verified"], body["http_status"], body["connected"]) == (True, 200, True)
    assert not GatewayEvent.objects.exists()
    assert not Payment.objects.exists()


def test_the_self_test_says_not_connected_without_a_secret(admin, account):
    _disconnect(account)
    body = admin.post(SELF_TEST, {}).json()
    assert (body["verified"], body["http_status"], body["error_code"]) == (False, 401, "cloudpayments_not_connected")
    assert not GatewayEvent.objects.exists()


def test_the_self_test_fails_when_the_receiving_path_rejects_the_secret(admin, account, monkeypatch):
    monkeypatch.setattr("billing.gateway.cloudpayments_notifications.verify_notification", lambda *args: False)
    body = admin.post(SELF_TEST, {}).json()
    assert (body["verified"], body["error_code"]) == (False, "invalid_signature")


def test_the_settings_show_the_last_notification_received(widget, notifier, invoiced):
    assert widget.get(SETTINGS).json()["cloudpayments"]["last_notification"] is None
    notifier.post("check", pay_fields(invoiced))
    last = widget.get(SETTINGS).json()["cloudpayments"]["last_notification"]
    assert (last["kind"], last["signature_valid"], last["status"], last["answer_code"]) == ("check", True,
                                                                                          "processed", 0)
    notifier.post("pay", pay_fields(invoiced), secret="wrong-secret")
    last = widget.get(SETTINGS).json()["cloudpayments"]["last_notification"]
    assert (last["kind"], last["signature_valid"], last["status"]) == ("pay", False, "rejected")


def test_account_create_on_an_existing_account_changes_only_the_options_given(account):
    Account.objects.filter(pk=account.pk).update(time_zone="Asia/Yekaterinburg", name="Школа")
    call_command("payplan_account_create", "--subdomain", "school", "--account-id", str(account.crm_account_id),
                 stdout=StringIO())
    account.refresh_from_db()
    assert (account.cloudpayments_public_id, account.cloudpayments_api_secret) == ("pk_school", "school-api-secret")
    assert (account.time_zone, account.name, account.cloudpayments_test_mode) == ("Asia/Yekaterinburg", "Школа",
                                                                                  False)
    call_command("payplan_account_create", "--subdomain", "school", "--account-id", str(account.crm_account_id),
                 "--cp-test-mode", "on", "--cp-secret", "rotated-secret", stdout=StringIO())
    account.refresh_from_db()
    assert (account.cloudpayments_public_id, account.cloudpayments_api_secret) == ("pk_school", "rotated-secret")
    assert account.cloudpayments_test_mode is True


def test_unsigned_bodies_keep_only_hash_size_and_head(notifier, invoiced):
    fields = pay_fields(invoiced, Description="x" * 20000)
    assert notifier.post("pay", fields, secret="wrong-secret").status_code == 401
    event = GatewayEvent.objects.get()
    from urllib.parse import urlencode

    whole = urlencode(fields).encode()
    assert (len(bytes(event.raw_body)), event.body_size) == (2048, len(whole))
    assert bytes(event.raw_body) == whole[:2048]
    assert event.body_sha256 == hashlib.sha256(whole).hexdigest()


def test_signed_bodies_are_stored_whole(notifier, invoiced):
    fields = pay_fields(invoiced, Description="x" * 20000)
    assert notifier.post("pay", fields).json() == {"code": 0}
    event = GatewayEvent.objects.get()
    assert len(bytes(event.raw_body)) == event.body_size > 20000


def test_secret_errors_and_the_self_test_speak_russian_to_a_russian_admin(admin, account):
    response = admin.client.patch(SETTINGS, '{"cloudpayments": {"api_secret": "short"}}',
                                  content_type="application/json", HTTP_ACCEPT_LANGUAGE="ru", **admin.headers())
    assert "не меньше 8 символов" in response.json()["error"]["fields"]["cloudpayments.api_secret"][0]
    _disconnect(account)
    body = admin.client.post(SELF_TEST, "{}", content_type="application/json", HTTP_ACCEPT_LANGUAGE="ru",
                             **admin.headers()).json()
    assert "CloudPayments не подключён" in body["message"]
