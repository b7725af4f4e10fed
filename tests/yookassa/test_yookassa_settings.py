"""Per account, an admin chooses the gateway of cards and of SBP; YooKassa's key is encrypted and write-only."""
from decimal import Decimal

import pytest
from django.db import connection

from billing.domain.account_settings import gateways_read
from billing.gateway.interface import OrderCreated
from billing.models import Invoice
from billing.services.gateways import gateway_for, gateway_name_for
from billing.services.invoicing import invoice_gateway_cancel, invoice_issue, invoices_cancel
from tests.conftest import assert_error
from tests.yookassa.conftest import AdminClient, put_plan

pytestmark = pytest.mark.django_db
SETTINGS = "/api/v1/account/settings"


def test_the_key_is_stored_encrypted_and_never_returned(account):
    admin = AdminClient(account)
    response = admin.patch(SETTINGS, {"yookassa": {"shop_id": "100500", "secret_key": "test_brand_new_key"}})
    assert response.status_code == 200, response.content
    assert b"test_brand_new_key" not in response.content
    body = admin.get(SETTINGS).json()["yookassa"]
    assert (body["shop_id"], body["secret_key_set"], body["connected"]) == ("100500", True, True)
    assert "secret_key" not in body
    assert body["notification_url"].endswith(f"/webhooks/yookassa/{account.webhook_key}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT yookassa_secret_key FROM billing_account WHERE id = %s", [account.pk])
        stored = cursor.fetchone()[0]
    assert stored
    assert "test_brand_new_key" not in stored
    # A blank key keeps the stored one; clear_secret_key disconnects.
    admin.patch(SETTINGS, {"yookassa": {"secret_key": ""}})
    account.refresh_from_db()
    assert account.yookassa_secret_key == "test_brand_new_key"
    admin.patch(SETTINGS, {"yookassa": {"clear_secret_key": True}})
    account.refresh_from_db()
    assert not account.yookassa_connected


def test_the_payout_gateways_key_is_its_own_encrypted_and_write_only(account):
    admin = AdminClient(account)
    response = admin.patch(SETTINGS, {"yookassa": {"payout_agent_id": "505050",
                                                   "payout_secret_key": "test_payout_key_42"}})
    assert response.status_code == 200, response.content
    assert b"test_payout_key_42" not in response.content
    body = admin.get(SETTINGS).json()["yookassa"]
    assert (body["payout_agent_id"], body["payout_secret_key_set"], body["payouts_connected"]) == (
        "505050", True, True)
    assert body["connected"] is False  # the payout gateway is not the payment shop
    with connection.cursor() as cursor:
        cursor.execute("SELECT yookassa_payout_secret_key FROM billing_account WHERE id = %s", [account.pk])
        assert "test_payout_key_42" not in cursor.fetchone()[0]
    admin.patch(SETTINGS, {"yookassa": {"payout_secret_key": ""}})
    account.refresh_from_db()
    assert account.yookassa_payout_secret_key == "test_payout_key_42"
    refused = admin.patch(SETTINGS, {"yookassa": {"payout_agent_id": "abc"}})
    assert_error(refused, 422, field="yookassa.payout_agent_id")
    admin.patch(SETTINGS, {"yookassa": {"clear_payout_secret_key": True}})
    account.refresh_from_db()
    assert not account.yookassa_payouts_connected


def test_a_gateway_without_its_keys_cannot_be_chosen_and_junk_is_refused(account):
    admin = AdminClient(account)
    error = assert_error(admin.patch(SETTINGS, {"gateways": {"cards": "yookassa"}}), 422, "validation_error",
                         "gateways.cards")
    assert "ключи" in error["message"]
    assert_error(admin.patch(SETTINGS, {"gateways": {"cards": "paypal"}}), 422, field="gateways.cards")
    assert_error(admin.patch(SETTINGS, {"yookassa": {"shop_id": "shop-1"}}), 422, field="yookassa.shop_id")
    assert gateway_name_for(account) == "cloudpayments"
    assert admin.patch(SETTINGS, {"yookassa": {"shop_id": "100500", "secret_key": "test_key_12345"},
                                  "gateways": {"cards": "yookassa", "sbp": "yookassa"}}).status_code == 200
    account.refresh_from_db()
    assert gateways_read(account.settings).cards == "yookassa"
    assert gateway_for(account).name == "yookassa"
    assert AdminClient(account).get(SETTINGS).json()["gateways"] == {"cards": "yookassa", "sbp": "yookassa"}


class Recording:
    def __init__(self, name: str) -> None:
        self.name, self.orders, self.cancelled = name, [], []

    def create_order(self, order, *, request_id):
        self.orders.append((order, request_id))
        return OrderCreated(order_id=f"{self.name}-{len(self.orders)}", url=f"https://{self.name}.test/pay",
                            number=None, status="pending", raw={})

    def cancel_order(self, order_id, *, request_id):
        self.cancelled.append(order_id)


@pytest.mark.django_db(transaction=True)
def test_a_gateway_switch_mid_plan_keeps_history_and_the_next_invoice_goes_to_the_new_one(account, monkeypatch):
    cloudpayments, yookassa = Recording("cloudpayments"), Recording("yookassa")
    monkeypatch.setattr("billing.services.gateways.cloudpayments_gateway", lambda account: cloudpayments)
    monkeypatch.setattr("billing.services.gateways.yookassa_gateway", lambda account: yookassa)
    put_plan(account, 8301)
    lines = list(account.deals.get(external_id=8301).schedules.get(is_active=True).installments.order_by("seq"))
    first = invoice_issue(installment_id=lines[0].pk).invoice
    assert (first.gateway, first.gateway_order_id) == ("cloudpayments", "cloudpayments-1")
    AdminClient(account).patch(SETTINGS, {"yookassa": {"shop_id": "100500", "secret_key": "test_key_12345"},
                                          "gateways": {"cards": "yookassa"}})
    second = invoice_issue(installment_id=lines[1].pk).invoice
    assert (second.gateway, second.gateway_order_id) == ("yookassa", "yookassa-1")
    assert yookassa.orders[0][0].amount == Decimal("10000.00")
    first.refresh_from_db()
    assert (first.gateway, first.status) == ("cloudpayments", "issued")  # history kept as it was
    # Cancelling the old invoice goes to the gateway that made it, not to the account's new one.
    invoices_cancel(invoices=[first], reason="test")
    invoice_gateway_cancel(invoice_id=first.pk)
    assert (cloudpayments.cancelled, yookassa.cancelled) == (["cloudpayments-1"], [])
    assert Invoice.objects.get(pk=first.pk).gateway_cancel_pending is False
