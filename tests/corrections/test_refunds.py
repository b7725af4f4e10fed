"""Refunds from the card: through the gateway's refund API, no lock held across the call, recorded once."""
from decimal import Decimal

import pytest
from django.db import transaction

from billing.gateway.interface import RefundResult
from billing.models import GatewayEvent, Invoice, Payment, RefundRequest
from billing.services.corrections import payment_refund
from billing.transactions import OpenTransactionError
from sandboxes.cloudpayments import SandboxServer
from tests.conftest import WidgetClient, assert_error
from tests.webhooks.conftest import Notifier

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
LEAD = 7101
ADMIN = 111


class AdminClient(WidgetClient):
    def headers(self, idempotency_key: str | None = None) -> dict:
        from widget_api.tokens import token_mint

        headers = super().headers(idempotency_key)
        headers["HTTP_X_AUTH_TOKEN"] = token_mint(account_id=self.account.crm_account_id,
                                                  subdomain=self.account.slug, user_id=ADMIN, is_admin=True)
        return headers


@pytest.fixture
def sandbox(account, live_server, settings):
    account.cloudpayments_test_mode = True
    account.save(update_fields=["cloudpayments_test_mode"])
    server = SandboxServer(
        {account.cloudpayments_public_id: (account.cloudpayments_api_secret, account.webhook_key)},
        notify_url_template=f"{live_server.url}/webhooks/cloudpayments/{{account_key}}/{{kind}}",
        notify_time_factor="0.01", notify_attempts=3, notify_timeout=10,
    ).start()
    settings.CLOUDPAYMENTS_API_URL = server.url + "/"
    settings.CLOUDPAYMENTS_BACKOFF = 0.01
    yield server
    server.stop()


@pytest.fixture
def paid_online(account, sandbox, school_plan):
    """A 160 000 plan whose first line (26 666,66) was paid by card in the sandbox."""
    admin = AdminClient(account)
    assert admin.put(f"/api/v1/deals/{LEAD}/schedule", school_plan).status_code == 200
    invoice = admin.post(f"/api/v1/deals/{LEAD}/invoices", {}).json()
    paid = sandbox.pay_order(Invoice.objects.get(pk=invoice["id"]).gateway_order_id)
    assert all(delivery.get("accepted") for delivery in paid["deliveries"]), paid
    return Payment.objects.get(method="cloudpayments")


def refund(client, payment, amount: str, reason: str = "клиент отказался", key: str | None = None):
    return client.post(f"/api/v1/payments/{payment.pk}/refund", {"amount": amount, "reason": reason},
                       idempotency_key=key)


def refund_calls(sandbox) -> list:
    return [call for call in sandbox.journal if call.get("path", "").endswith("payments/refund")]


def test_a_partial_refund_goes_through_the_gateway_and_is_recorded_once_with_its_notification(
        account, sandbox, paid_online):
    response = refund(AdminClient(account), paid_online, "10000.00")
    assert response.status_code == 201, response.content
    sandbox.wait_for_deliveries(3)  # Check, Pay, then the Refund notification
    refunds = Payment.objects.filter(refund_of=paid_online)
    assert refunds.count() == 1
    [recorded] = refunds
    assert recorded.amount == Decimal("-10000.00")
    assert (recorded.correction_reason, recorded.recorded_by) == ("клиент отказался", ADMIN)
    request = RefundRequest.objects.get()
    assert (request.status, request.refund_id) == ("succeeded", recorded.pk)
    assert request.refund_transaction_id == recorded.transaction_id
    event = GatewayEvent.objects.get(kind="refund")
    assert (event.status, event.payment_id) == ("processed", recorded.pk)
    deal = AdminClient(account).get(f"/api/v1/deals/{LEAD}").json()
    assert deal["paid"] == "16666.66"
    online = next(row for row in deal["payments"] if row["id"] == paid_online.pk)
    assert online["refundable"] == "16666.66"
    assert online["refunds"][0]["reason"] == "клиент отказался"
    [call] = refund_calls(sandbox)
    assert call["headers"]["X-Request-ID"] == request.request_id


def test_more_than_the_refundable_remainder_is_refused_before_the_gateway_is_called(account, sandbox, paid_online):
    admin = AdminClient(account)
    assert refund(admin, paid_online, "20000.00").status_code == 201
    error = assert_error(refund(admin, paid_online, "6666.67"), 422, "refund_exceeds_payment", "amount")
    assert "6 666,66" in error["message"].replace("\xa0", " ")
    assert len(refund_calls(sandbox)) == 1
    assert refund(admin, paid_online, "6666.66").status_code == 201
    assert Payment.objects.filter(refund_of=paid_online).count() == 2


def test_a_repeated_click_with_the_same_idempotency_key_refunds_once(account, sandbox, paid_online):
    admin = AdminClient(account)
    first = refund(admin, paid_online, "500.00", key="refund-click-1")
    again = refund(admin, paid_online, "500.00", key="refund-click-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert len(refund_calls(sandbox)) == 1
    assert Payment.objects.filter(refund_of=paid_online).count() == 1


def test_an_offline_payment_is_reversed_not_refunded(account, sandbox, paid_online):
    admin = AdminClient(account)
    cash = admin.post(f"/api/v1/deals/{LEAD}/payments", {"amount": "100.00", "method": "cash",
                                                         "paid_at": str(paid_online.paid_at)}).json()["payments"][-1]
    assert_error(admin.post(f"/api/v1/payments/{cash['id']}/refund", {"amount": "1.00", "reason": "x"}),
                 422, "not_refundable")
    assert refund_calls(sandbox) == []


def test_a_refund_the_gateway_refuses_is_recorded_as_rejected_and_reserves_nothing(account, sandbox, paid_online):
    Payment.objects.filter(pk=paid_online.pk).update(transaction_id="999999")  # the sandbox knows no such payment
    response = refund(AdminClient(account), Payment.objects.get(pk=paid_online.pk), "100.00")
    assert_error(response, 422, "refund_rejected")
    request = RefundRequest.objects.get()
    assert request.status == "rejected"
    assert request.error
    assert not Payment.objects.filter(refund_of=paid_online).exists()


class NotificationFirstGateway:
    """CloudPayments' Refund notification overtakes the answer to payments/refund."""

    def __init__(self, account, transaction_id: int) -> None:
        self.account, self.transaction_id, self.calls = account, transaction_id, 0

    def refund(self, refund, *, request_id: str) -> RefundResult:
        self.calls += 1
        response = Notifier(self.account).post("refund", {
            "TransactionId": str(self.transaction_id), "PaymentTransactionId": str(refund.transaction_id),
            "Amount": f"{refund.amount:.2f}", "DateTime": "2026-11-24 10:20:00", "OperationType": "Refund"})
        assert response.json() == {"code": 0}
        return RefundResult(transaction_id=self.transaction_id)


def test_a_notification_that_overtakes_the_gateway_answer_is_the_same_refund(account, paid_online):
    gateway = NotificationFirstGateway(account, 880001)
    request = payment_refund(payment=paid_online, amount=Decimal("300.00"), reason="ошибка в сумме",
                             requested_by=ADMIN, gateway=gateway)
    [recorded] = Payment.objects.filter(refund_of=paid_online)
    assert recorded.transaction_id == "880001"
    assert recorded.correction_reason == "ошибка в сумме"  # the open request was found by its amount
    assert (request.status, request.refund_id) == ("succeeded", recorded.pk)


def test_the_gateway_is_never_called_inside_a_transaction(account, paid_online):
    gateway = NotificationFirstGateway(account, 880002)
    with pytest.raises(OpenTransactionError), transaction.atomic():
        payment_refund(payment=paid_online, amount=Decimal("1.00"), reason="x", requested_by=ADMIN, gateway=gateway)
    assert gateway.calls == 0
