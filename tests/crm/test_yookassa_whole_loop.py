"""[K] point 7 over real HTTP only: our server (live_server), the amoCRM sandbox, the YooKassa sandbox and the
CloudPayments sandbox, PostgreSQL. The whole loop by SBP ends with the lead in «Успешно реализовано»; a gateway
switch mid-plan keeps the old invoice where it was and issues the next one on YooKassa."""
from decimal import Decimal

import pytest
from django.test import Client

from billing.client_links import client_page_path
from billing.models import Deal, Invoice, Payment
from billing.services.account_settings import account_settings_change
from billing.services.invoicing import invoice_issue
from sandboxes.cloudpayments import SandboxServer
from sandboxes.yookassa import YooKassaSandbox
from tests.conftest import WidgetClient
from tests.crm.conftest import drain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
SHOP, KEY = "100600", "test_whole_loop_key"


@pytest.fixture
def yookassa(installed, live_server, settings):
    server = YooKassaSandbox({SHOP: (KEY, f"{live_server.url}/webhooks/yookassa/{installed.webhook_key}")},
                             notify_attempts=3, notify_timeout=20, notify_retry_seconds=0.01).start()
    settings.YOOKASSA_API_URL = server.api_url
    settings.YOOKASSA_READ_TIMEOUT = 3
    settings.YOOKASSA_BACKOFF = 0.01
    yield server
    server.settle()
    server.stop()


def test_invoice_sbp_payment_notification_allocation_and_the_lead_completed(installed, yookassa, sandbox):
    account = account_settings_change(account=installed, changes={
        "yookassa": {"shop_id": SHOP, "secret_key": KEY}, "gateways": {"cards": "yookassa", "sbp": "yookassa"}})
    body = {"plan": "full", "total": "45000.00", "first_due_date": "2026-11-27"}
    assert WidgetClient(account).put("/api/v1/deals/17651/schedule", body).status_code == 200
    deal = Deal.objects.get(account=account, external_id=17651)
    assert Client().post(client_page_path(deal) + "/pay/sbp").status_code == 200
    invoice = Invoice.objects.get(deal=deal)
    assert yookassa.payments[invoice.sbp_order_id]["payment_method"]["type"] == "sbp"
    paid = yookassa.pay(invoice.sbp_order_id)
    assert [delivery["accepted"] for delivery in paid["deliveries"]] == [True]
    payment = Payment.objects.get(deal=deal)
    assert (payment.amount, payment.method, payment.invoice_id) == (Decimal("45000.00"), "yookassa", invoice.pk)
    deal.refresh_from_db()
    assert (deal.status, deal.debt) == ("paid", 0)
    drain(account)
    lead = sandbox.account().leads[17651]
    assert lead.status_id == account.completed_status_id


def test_a_gateway_switch_mid_plan_over_real_http(installed, yookassa, live_server, settings):
    account = installed
    account.cloudpayments_public_id, account.cloudpayments_api_secret = "test_api_whole_loop_k", "whole_loop_secret"
    account.cloudpayments_test_mode = True
    account.save(update_fields=["cloudpayments_public_id", "cloudpayments_api_secret", "cloudpayments_test_mode"])
    cloudpayments = SandboxServer(
        {account.cloudpayments_public_id: (account.cloudpayments_api_secret, account.webhook_key)},
        notify_url_template=f"{live_server.url}/webhooks/cloudpayments/{{account_key}}/{{kind}}",
        notify_time_factor="0.01", notify_attempts=3, notify_timeout=10).start()
    settings.CLOUDPAYMENTS_API_URL = cloudpayments.url + "/"
    settings.CLOUDPAYMENTS_BACKOFF = 0.01
    try:
        body = {"plan": "equal", "total": "60000.00", "installments_count": 3, "first_due_date": "2026-12-05",
                "due_day": 5}
        assert WidgetClient(account).put("/api/v1/deals/17652/schedule", body).status_code == 200
        deal = Deal.objects.get(account=account, external_id=17652)
        lines = list(deal.schedules.get(is_active=True).installments.order_by("seq"))
        first = invoice_issue(installment_id=lines[0].pk).invoice
        assert first.gateway == "cloudpayments"
        assert first.payment_url.startswith(cloudpayments.url)
        paid_first = cloudpayments.pay_order(first.gateway_order_id)
        assert paid_first["status"] == "Completed", {key: paid_first[key] for key in paid_first if key != "order_id"}

        account = account_settings_change(account=account, changes={
            "yookassa": {"shop_id": SHOP, "secret_key": KEY}, "gateways": {"cards": "yookassa"}})
        second = invoice_issue(installment_id=lines[1].pk).invoice
        assert second.gateway == "yookassa"
        assert second.gateway_order_id in yookassa.payments
        assert yookassa.pay(second.gateway_order_id)["deliveries"][0]["accepted"]
        methods = sorted(Payment.objects.filter(deal=deal).values_list("method", flat=True))
        assert methods == ["cloudpayments", "yookassa"]
        first.refresh_from_db()
        assert (first.gateway, first.status) == ("cloudpayments", "paid")  # history kept as it was
        deal.refresh_from_db()
        assert deal.paid == Decimal("40000.00")
    finally:
        cloudpayments.stop()
