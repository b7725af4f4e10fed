"""CloudPaymentsGateway against the sandbox over real HTTP: bodies pinned, retries, errors, money."""
import json
from decimal import Decimal

import pytest

from billing.gateway.errors import (
    GatewayAuthError,
    GatewayRejected,
    GatewayThrottled,
    GatewayUnavailable,
    PaymentDeclined,
)
from billing.gateway.interface import ChargeToken, CreateOrder, FiscalReceipt, Refund

ORDER = CreateOrder(amount=Decimal("1500.00"), description="Оплата по договору №7", invoice_id="2026-000123",
                    account_id="deal-42", email="student@example.com")
ORDER_BODY = ('{"Amount":1500.00,"Currency":"RUB","Description":"Оплата по договору №7",'
              '"Email":"student@example.com","RequireConfirmation":false,"SendEmail":false,'
              '"InvoiceId":"2026-000123","AccountId":"deal-42","CultureName":"ru-RU"}')


def calls(sandbox, path):
    return [entry for entry in sandbox.journal if entry["path"] == path]


def paid_order(gateway, sandbox, *, invoice_id="2026-000200", card=None, amount="2500.50"):
    order = CreateOrder(amount=Decimal(amount), description="Курс", invoice_id=invoice_id, account_id="deal-42")
    created = gateway.create_order(order, request_id=f"order:school:{invoice_id}")
    return sandbox.pay_order(created.order_id, card=card)


def test_create_order_sends_the_pinned_body_with_request_id(gateway, sandbox, school):
    created = gateway.create_order(ORDER, request_id="order:school:2026-000123")
    [call] = calls(sandbox, "orders/create")
    assert call["raw"] == ORDER_BODY
    assert call["headers"]["X-Request-ID"] == "order:school:2026-000123"
    assert call["headers"]["Content-Type"].startswith("application/json")
    assert call["public_id"] == school["public_id"]
    assert created.url == f"{sandbox.url}/d/{created.order_id}"
    assert created.status == "Created"
    assert created.raw["Amount"] == Decimal("1500.00")


def test_optional_order_fields_use_the_documented_names(gateway, sandbox):
    order = CreateOrder(amount=Decimal("10"), description="d", invoice_id="1", account_id="2",
                        phone="+79990000000", require_confirmation=True, culture_name="en-US",
                        success_redirect_url="https://school.example/ok", fail_redirect_url="https://school.example/no",
                        json_data={"plan": 7, "fee": Decimal("0.50")})
    gateway.create_order(order, request_id="order:school:1")
    body = json.loads(calls(sandbox, "orders/create")[0]["raw"])
    assert body["CultureName"] == "en-US"
    assert "CultureInfo" not in body
    assert body["Phone"] == "+79990000000"
    assert body["RequireConfirmation"] is True
    assert body["SuccessRedirectUrl"] == "https://school.example/ok"
    assert body["FailRedirectUrl"] == "https://school.example/no"
    assert '"JsonData":{"plan":7,"fee":0.50}' in calls(sandbox, "orders/create")[0]["raw"]


def test_repeated_request_id_returns_the_same_order(gateway, sandbox):
    first = gateway.create_order(ORDER, request_id="order:school:2026-000123")
    second = gateway.create_order(ORDER, request_id="order:school:2026-000123")
    assert second.order_id == first.order_id
    assert len(sandbox.ledger.orders) == 1
    first_call, second_call = calls(sandbox, "orders/create")
    assert second_call["replayed"]
    assert second_call["answer"] == first_call["answer"]


def test_request_id_is_forgotten_after_its_ttl(gateway, sandbox, clock):
    first = gateway.create_order(ORDER, request_id="order:school:2026-000123")
    clock.advance(3601)
    second = gateway.create_order(ORDER, request_id="order:school:2026-000123")
    assert second.order_id != first.order_id


def test_server_error_is_retried_with_the_same_request_id(gateway, sandbox):
    sandbox.set_faults(fail_next=1, status=503)
    created = gateway.create_order(ORDER, request_id="order:school:2026-000123")
    attempts = calls(sandbox, "orders/create")
    assert [call["status"] for call in attempts] == [503, 200]
    assert {call["headers"]["X-Request-ID"] for call in attempts} == {"order:school:2026-000123"}
    assert list(sandbox.ledger.orders) == [created.order_id]


def test_dropped_connection_is_retried(gateway, sandbox):
    sandbox.set_faults(drop_next=1)
    gateway.create_order(ORDER, request_id="order:school:2026-000123")
    assert len(calls(sandbox, "orders/create")) == 2
    assert len(sandbox.ledger.orders) == 1


def test_timeout_gives_unavailable_after_bounded_retries_and_one_order(make_gateway, sandbox):
    gateway = make_gateway(read_timeout=0.1, retries=2)
    sandbox.set_faults(delay_seconds="0.3")
    with pytest.raises(GatewayUnavailable):
        gateway.create_order(ORDER, request_id="order:school:2026-000123")
    attempts = calls(sandbox, "orders/create")
    assert len(attempts) == 3
    assert {call["headers"]["X-Request-ID"] for call in attempts} == {"order:school:2026-000123"}
    # The slow answers came after the work: the gateway made the order once, the caller must reconcile.
    assert len(sandbox.ledger.orders) == 1


def test_persistent_server_errors_give_unavailable(gateway, sandbox):
    sandbox.set_faults(fail_next=10, status=500)
    with pytest.raises(GatewayUnavailable):
        gateway.create_order(ORDER, request_id="order:school:2026-000123")
    assert len(calls(sandbox, "orders/create")) == 3


def test_too_many_in_flight_gives_throttled_after_retries(gateway, sandbox):
    sandbox.set_faults(max_in_flight=0)
    with pytest.raises(GatewayThrottled):
        gateway.create_order(ORDER, request_id="order:school:2026-000123")
    assert [call["status"] for call in calls(sandbox, "orders/create")] == [429, 429, 429]


def test_wrong_secret_gives_auth_error_without_retry(make_gateway, sandbox):
    with pytest.raises(GatewayAuthError):
        make_gateway(api_secret="wrong").create_order(ORDER, request_id="order:school:2026-000123")
    assert [call["status"] for call in calls(sandbox, "orders/create")] == [401]


def test_request_error_gives_rejected_with_the_message_without_retry(gateway, sandbox):
    order = CreateOrder(amount=Decimal("10"), description="", invoice_id="1", account_id="2")
    with pytest.raises(GatewayRejected) as error:
        gateway.create_order(order, request_id="order:school:1")
    assert error.value.message == "Description is required"
    assert len(calls(sandbox, "orders/create")) == 1


def test_cancel_order(gateway, sandbox):
    created = gateway.create_order(ORDER, request_id="order:school:2026-000123")
    gateway.cancel_order(created.order_id, request_id=f"cancel:{created.order_id}")
    assert sandbox.ledger.orders[created.order_id].status == "Cancelled"
    assert calls(sandbox, "orders/cancel")[0]["raw"] == f'{{"Id":"{created.order_id}"}}'


def test_token_charge_sends_merchant_initiated_scheduled_flags(gateway, sandbox):
    token = paid_order(gateway, sandbox)["deliveries"][-1]["fields"]["Token"]
    charge = ChargeToken(amount=Decimal("2500.50"), token=token, account_id="deal-42",
                         invoice_id="2026-000201", description="Autopay")
    result = gateway.charge_token(charge, request_id="charge:17:1")
    [call] = calls(sandbox, "payments/tokens/charge")
    assert call["raw"] == ('{"Amount":2500.50,"Currency":"RUB","AccountId":"deal-42","Token":"' + token + '",'
                           '"TrInitiatorCode":0,"PaymentScheduled":1,"InvoiceId":"2026-000201",'
                           '"Description":"Autopay"}')
    assert call["headers"]["X-Request-ID"] == "charge:17:1"
    assert result.success
    assert result.status == "Completed"
    assert result.reason_code == 0
    assert not result.needs_3ds
    assert result.token == token


def test_unscheduled_token_charge_sends_payment_scheduled_zero(gateway, sandbox):
    token = paid_order(gateway, sandbox)["deliveries"][-1]["fields"]["Token"]
    charge = ChargeToken(amount=Decimal("1"), token=token, account_id="deal-42", invoice_id=None,
                         description=None, scheduled=False)
    gateway.charge_token(charge, request_id="charge:18:1")
    assert json.loads(calls(sandbox, "payments/tokens/charge")[0]["raw"])["PaymentScheduled"] == 0


def test_token_of_card_4111_declines_5051(gateway, sandbox):
    token = paid_order(gateway, sandbox, card="4111 1111 1111 1111")["deliveries"][-1]["fields"]["Token"]
    charge = ChargeToken(amount=Decimal("2500.50"), token=token, account_id="deal-42", invoice_id="2026-000201",
                         description="Autopay")
    with pytest.raises(PaymentDeclined) as declined:
        gateway.charge_token(charge, request_id="charge:17:1")
    assert declined.value.reason_code == 5051
    assert declined.value.reason == "InsufficientFunds"
    assert declined.value.transaction_id is not None


def test_decline_token_declines_with_its_code(gateway):
    charge = ChargeToken(amount=Decimal("100"), token="decline_5005", account_id="deal-42", invoice_id="1",
                         description="Autopay")
    with pytest.raises(PaymentDeclined) as declined:
        gateway.charge_token(charge, request_id="charge:1:1")
    assert declined.value.reason_code == 5005


def test_token_of_another_terminal_is_rejected(make_gateway, gateway, sandbox, school):
    token = paid_order(gateway, sandbox)["deliveries"][-1]["fields"]["Token"]
    other = make_gateway(public_id=school["other_public_id"], api_secret=school["other_secret"])
    charge = ChargeToken(amount=Decimal("1"), token=token, account_id="deal-42", invoice_id=None, description=None)
    with pytest.raises(GatewayRejected, match="Token not found"):
        other.charge_token(charge, request_id="charge:1:1")


def test_package_style_token_charge_without_initiator_is_refused(api):
    answer = api("payments/tokens/charge", {"Amount": Decimal("1"), "AccountId": "a", "Token": "decline_5051"})
    assert answer.json() == {"Success": False, "Message": "TrInitiatorCode is required"}


def test_refund_sends_the_package_body_and_returns_the_refund_id(gateway, sandbox):
    payment_id = paid_order(gateway, sandbox)["transaction_id"]
    result = gateway.refund(Refund(transaction_id=payment_id, amount=Decimal("500")), request_id="refund:1:1")
    [call] = calls(sandbox, "payments/refund")
    assert call["raw"] == f'{{"Amount":500.00,"TransactionId":{payment_id}}}'
    assert call["headers"]["X-Request-ID"] == "refund:1:1"
    assert result.transaction_id != payment_id
    assert sandbox.ledger.transactions[result.transaction_id].original_transaction_id == payment_id


def test_refund_above_the_remaining_amount_is_rejected(gateway, sandbox):
    payment_id = paid_order(gateway, sandbox)["transaction_id"]
    gateway.refund(Refund(transaction_id=payment_id, amount=Decimal("2000")), request_id="refund:1:1")
    with pytest.raises(GatewayRejected, match=r"refundable 500\.50"):
        gateway.refund(Refund(transaction_id=payment_id, amount=Decimal("500.51")), request_id="refund:1:2")


def test_v2_find_returns_the_latest_transaction_including_refunds(gateway, sandbox):
    payment_id = paid_order(gateway, sandbox, invoice_id="2026-000300")["transaction_id"]
    found = gateway.find_payment("2026-000300")
    assert calls(sandbox, "v2/payments/find")[0]["raw"] == '{"InvoiceId":"2026-000300"}'
    assert (found.transaction_id, found.status, found.amount) == (payment_id, "Completed", Decimal("2500.50"))
    assert (found.invoice_id, found.account_id) == ("2026-000300", "deal-42")
    refund = gateway.refund(Refund(transaction_id=payment_id, amount=Decimal("1")), request_id="refund:1:1")
    assert gateway.find_payment("2026-000300").transaction_id == refund.transaction_id


def test_find_without_transactions_gives_none(gateway):
    assert gateway.find_payment("2026-999999") is None


RECEIPT = {
    "Items": [{"Label": "Курс Python, 1 платёж", "Price": Decimal("2500.50"), "Quantity": 1,
               "Amount": Decimal("2500.50"), "Vat": None, "Method": 4, "Object": 4}],
    "TaxationSystem": 1, "Email": "student@example.com",
    "Amounts": {"Electronic": Decimal("2500.50"), "AdvancePayment": 0, "Credit": 0, "Provision": 0},
}


def test_receipt_is_queued_with_the_pinned_body(gateway, sandbox):
    receipt = FiscalReceipt(inn="7708806666", receipt_type="Income", customer_receipt=RECEIPT,
                            invoice_id="2026-000123", account_id="deal-42")
    queued = gateway.create_receipt(receipt, request_id="receipt:1")
    [call] = calls(sandbox, "kkt/receipt")
    assert call["raw"] == (
        '{"Inn":"7708806666","Type":"Income","CustomerReceipt":{"Items":[{"Label":"Курс Python, 1 платёж",'
        '"Price":2500.50,"Quantity":1,"Amount":2500.50,"Vat":null,"Method":4,"Object":4}],"TaxationSystem":1,'
        '"Email":"student@example.com","Amounts":{"Electronic":2500.50,"AdvancePayment":0,"Credit":0,'
        '"Provision":0}},"InvoiceId":"2026-000123","AccountId":"deal-42"}')
    assert queued.receipt_id in sandbox.ledger.receipts
    assert queued.raw["ErrorCode"] == 0


@pytest.mark.parametrize(("inn", "receipt_type", "customer_receipt", "message"), [
    ("77088066", "Income", RECEIPT, "Inn must be 10 or 12 digits"),
    ("7708806666", "Sale", RECEIPT, "Type must be one of"),
    ("7708806666", "Income", {**RECEIPT, "Items": []}, "at least one item"),
    ("7708806666", "Income", {**RECEIPT, "Items": [{**RECEIPT["Items"][0], "Label": ""}]}, "Label"),
    ("7708806666", "Income", {**RECEIPT, "Items": [{**RECEIPT["Items"][0], "Price": Decimal("-1")}]}, "Price"),
    ("7708806666", "Income", {**RECEIPT, "Items": [{**RECEIPT["Items"][0], "Amount": Decimal("1.001")}]},
     "2 decimals"),
    ("7708806666", "Income", {**RECEIPT, "Items": [{**RECEIPT["Items"][0], "Amount": 0, "Price": 0}]},
     "total must be positive"),
    ("7708806666", "Income", {**RECEIPT, "TaxationSystem": 9}, "TaxationSystem"),
])
def test_invalid_receipts_are_rejected(gateway, inn, receipt_type, customer_receipt, message):
    receipt = FiscalReceipt(inn=inn, receipt_type=receipt_type, customer_receipt=customer_receipt,
                            invoice_id=None, account_id=None)
    with pytest.raises(GatewayRejected, match=message):
        gateway.create_receipt(receipt, request_id="receipt:1")


def test_ping_checks_credentials(gateway):
    assert gateway.ping().startswith("sandbox-")
