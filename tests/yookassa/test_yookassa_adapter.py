"""The YooKassa adapter against the loopback sandbox: our own Idempotence-Key, bounded retries that never make
a second payment, Decimal strings on the wire, typed errors (contracts/yookassa.md §2, §11, §13)."""
from decimal import Decimal

import pytest

from billing.gateway.errors import GatewayAuthError, GatewayRejected, GatewayThrottled, GatewayUnavailable
from billing.gateway.interface import CreateOrder, Refund
from billing.gateway.yookassa import YooKassaGateway, amount_json
from sandboxes.yookassa import YooKassaSandbox

SHOP, KEY = "200300", "test_adapter_key"


@pytest.fixture
def sandbox():
    server = YooKassaSandbox({SHOP: (KEY, None)}).start()
    yield server
    server.stop()


def gateway(sandbox, retries: int = 3, read_timeout: float = 2, key: str = KEY) -> YooKassaGateway:
    return YooKassaGateway(SHOP, key, sandbox.api_url, retries=retries, backoff=0.01, read_timeout=read_timeout)


def order(**changes) -> CreateOrder:
    values = {"amount": Decimal("1500.10"), "description": "Курс, счёт 2026-000001", "invoice_id": "2026-000001",
              "account_id": "4242", "success_redirect_url": "https://payplan.test/p/x"}
    return CreateOrder(**{**values, **changes})


def creates(sandbox) -> list[dict]:
    return [call for call in sandbox.journal if call["method"] == "POST" and call["path"] == "/v3/payments"]


def test_amounts_are_strings_with_two_decimals_never_floats():
    assert amount_json(Decimal("1500.1"), "RUB") == {"value": "1500.10", "currency": "RUB"}


def test_5xx_429_and_202_are_retried_with_the_same_key_into_one_payment(sandbox):
    for status in (500, 429, 202):
        sandbox.set_faults(fail_next=2, status=status)
        created = gateway(sandbox).create_order(order(), request_id=f"order:1:2026-000001:{status}")
        assert created.url.endswith(created.order_id)
    keys = [call["headers"]["Idempotence-Key"] for call in creates(sandbox)]
    assert len(keys) == 9
    assert len(set(keys)) == 3
    assert len(sandbox.payments) == 3


def test_a_lost_answer_repeated_with_the_same_key_returns_the_first_payment(sandbox):
    sandbox.set_faults(lose_next=1)
    first = gateway(sandbox).create_order(order(), request_id="order:1:2026-000001:1")
    assert len(sandbox.payments) == 1
    assert first.order_id in sandbox.payments
    assert any(call.get("replayed") for call in creates(sandbox))


def test_faults_beyond_the_retries_are_typed(sandbox):
    sandbox.set_faults(fail_next=5, status=503)
    with pytest.raises(GatewayUnavailable):
        gateway(sandbox, retries=1).create_order(order(), request_id="k1")
    sandbox.set_faults(reset=True, fail_next=5, status=429)
    with pytest.raises(GatewayThrottled):
        gateway(sandbox, retries=1).create_order(order(), request_id="k2")
    sandbox.set_faults(reset=True, delay_seconds=1.5)
    with pytest.raises(GatewayUnavailable):
        gateway(sandbox, retries=0, read_timeout=0.5).create_order(order(), request_id="k3")
    sandbox.set_faults(reset=True)
    with pytest.raises(GatewayAuthError):
        gateway(sandbox, key="wrong-key-123").create_order(order(), request_id="k4")


def test_the_same_key_with_another_body_is_refused_not_a_second_payment(sandbox):
    gateway(sandbox).create_order(order(), request_id="same-key")
    with pytest.raises(GatewayRejected) as refused:
        gateway(sandbox).create_order(order(amount=Decimal("99.00")), request_id="same-key")
    assert "invalid_request" in refused.value.message
    assert len(sandbox.payments) == 1


def test_sbp_asks_for_the_sbp_method_and_a_description_is_cut_to_128(sandbox):
    created = gateway(sandbox).create_order(order(payment_method="sbp", description="Я" * 300), request_id="sbp-1")
    payment = sandbox.payments[created.order_id]
    assert payment["payment_method"]["type"] == "sbp"
    assert len(payment["description"]) == 128


def test_a_refund_of_a_paid_payment_and_a_refused_one(sandbox):
    yk = gateway(sandbox)
    created = yk.create_order(order(), request_id="pay-refund")
    sandbox.pay(created.order_id)
    refund = yk.refund(Refund(transaction_id=created.order_id, amount=Decimal("500.00")), request_id="ref:1:1")
    assert sandbox.store.refunds[refund.transaction_id]["status"] == "succeeded"
    with pytest.raises(GatewayRejected):
        yk.refund(Refund(transaction_id=created.order_id, amount=Decimal("5000.00")), request_id="ref:1:2")


def test_two_accounts_in_two_threads_never_see_each_others_keys_and_the_global_configuration_stays_empty():
    """The SDK's client layer per call: shop id, key, endpoint and timeouts are the gateway's own (§13)."""
    from concurrent.futures import ThreadPoolExecutor

    from yookassa import Configuration

    other_shop, other_key = "300400", "test_other_key"
    server = YooKassaSandbox({SHOP: (KEY, None), other_shop: (other_key, None)}).start()
    try:
        def pay(shop: str, key: str, n: int) -> tuple[str, str]:
            yk = YooKassaGateway(shop, key, server.api_url, retries=0, read_timeout=5)
            created = yk.create_order(order(invoice_id=f"{shop}-{n}"), request_id=f"iso:{shop}:{n}")
            return shop, created.order_id

        jobs = [(SHOP, KEY, n) if n % 2 else (other_shop, other_key, n) for n in range(24)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda job: pay(*job), jobs))
        for shop, payment_id in results:
            assert server.payments[payment_id]["recipient"]["account_id"] == shop
        calls = [call for call in server.journal if call["path"] == "/v3/payments"]
        assert len(calls) == 24
        assert all(call["shop"] == call["headers"]["Idempotence-Key"].split(":")[1] for call in calls)
        assert Configuration.account_id is None
        assert Configuration.secret_key is None
    finally:
        server.stop()


def test_a_network_failure_is_a_typed_error_not_the_sdks_attribute_error():
    yk = YooKassaGateway(SHOP, KEY, "http://127.0.0.1:9/v3/", retries=0, connect_timeout=0.5)
    with pytest.raises(GatewayUnavailable):
        yk.get_payment("23d93cac-000f-5000-8000-126628f15141")


def test_amounts_go_out_and_come_back_as_decimal_strings(sandbox):
    created = gateway(sandbox).create_order(order(amount=Decimal("123456789.99")), request_id="dec-1")
    body = [call["body"] for call in creates(sandbox)][-1]
    assert '"value":"123456789.99"' in body
    payment = gateway(sandbox).get_payment(created.order_id)
    assert payment.amount == Decimal("123456789.99")
    assert isinstance(payment.amount, Decimal)


def test_payouts_use_the_payout_gateways_own_keys_and_a_retry_is_the_same_payout():
    from billing.gateway.yookassa import YooKassaPayouts

    agent, agent_key = "505051", "test_agent_key_1"
    server = YooKassaSandbox({SHOP: (KEY, None)}, payout_gateways={agent: (agent_key, None)}).start()
    try:
        sbp = {"type": "sbp", "phone": "79000000000", "bank_id": "100000000111"}
        shop_keys = YooKassaPayouts(SHOP, KEY, server.api_url, retries=0)
        with pytest.raises(GatewayRejected):  # the shop's keys make no payouts (403)
            shop_keys.payout_create(amount=Decimal("100.00"), destination=sbp, description="x", metadata={},
                                    request_id="po:1:1:0")
        payouts = YooKassaPayouts(agent, agent_key, server.api_url, retries=3, backoff=0.01)
        server.set_faults(fail_next=2, status=500)
        first = payouts.payout_create(amount=Decimal("1234.50"), destination=sbp, description="Выплата",
                                      metadata={"payplan_payout": "1"}, request_id="po:1:1:0")
        server.set_faults(reset=True, lose_next=1)
        again = payouts.payout_create(amount=Decimal("1234.50"), destination=sbp, description="Выплата",
                                      metadata={"payplan_payout": "1"}, request_id="po:1:1:0")
        assert again.id == first.id
        assert len(server.payouts) == 1
        assert first.amount == Decimal("1234.50")
        assert first.status == "succeeded"
        assert payouts.payout_get(first.id).id == first.id
        body = [call["body"] for call in server.journal if call["path"] == "/v3/payouts"][-1]
        assert '"amount":{"value":"1234.50","currency":"RUB"}' in body
        server.set_faults(payout_outcome="recipient_not_found")
        canceled = payouts.payout_create(amount=Decimal("10.00"), destination=sbp, description="x", metadata={},
                                         request_id="po:1:2:0")
        assert (canceled.status, canceled.cancellation_reason) == ("canceled", "recipient_not_found")
    finally:
        server.stop()
