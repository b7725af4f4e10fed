"""The sandbox's token charges for autopay: the card's expiry, 3-D Secure demands and scripted outcomes."""
from decimal import Decimal

import pytest
import requests

from billing.gateway.errors import PaymentDeclined
from billing.gateway.interface import ChargeToken, CreateOrder


def _token(gateway, sandbox, *, exp=None, invoice_id="2026-000300") -> str:
    order = CreateOrder(amount=Decimal("100.00"), description="Курс", invoice_id=invoice_id, account_id="deal-7")
    created = gateway.create_order(order, request_id=f"order:school:{invoice_id}")
    paid = sandbox.pay_order(created.order_id, exp=exp)
    return sandbox.ledger.transactions[paid["transaction_id"]].token


def _charge(gateway, token: str, request_id: str):
    return gateway.charge_token(ChargeToken(amount=Decimal("100.00"), token=token, account_id="deal-7",
                                            invoice_id="AP-1-1", description="Autopay"), request_id=request_id)


def test_a_token_carries_its_cards_expiry_and_declines_5054_once_past_it(gateway, sandbox):
    # The sandbox clock reads 2026-03-01: a card valid through February 2026 has expired.
    expired = _token(gateway, sandbox, exp="02/26", invoice_id="2026-000301")
    valid = _token(gateway, sandbox, exp="03/26", invoice_id="2026-000302")
    with pytest.raises(PaymentDeclined) as declined:
        _charge(gateway, expired, "charge:1:1")
    assert declined.value.reason_code == 5054
    assert _charge(gateway, valid, "charge:2:1").success
    assert sandbox.ledger.transactions[max(sandbox.ledger.transactions)].card_exp == "03/26"


def test_a_bad_expiry_is_refused_by_the_payer(gateway, sandbox):
    order = CreateOrder(amount=Decimal("1.00"), description="Курс", invoice_id="2026-000303", account_id="d")
    created = gateway.create_order(order, request_id="order:school:2026-000303")
    response = requests.post(f"{sandbox.url}/_sandbox/orders/{created.order_id}/pay", json={"exp": "13/26"},
                             timeout=5)
    assert response.status_code == 400
    assert response.json() == {"error": "exp must be MM/YY"}


def test_a_3ds_token_answers_with_the_acs_form_and_no_money_moves(gateway, sandbox):
    result = _charge(gateway, "3ds_card", "charge:3:1")
    assert result.needs_3ds
    assert not result.success
    model = result.raw
    assert model["AcsUrl"].startswith(sandbox.url)
    assert model["PaReq"]
    assert sandbox.ledger.transactions[result.transaction_id].status == "AwaitingAuthentication"


def test_scripted_outcomes_run_in_order_then_the_card_behaves_as_itself(gateway, sandbox):
    token = _token(gateway, sandbox)
    response = requests.post(f"{sandbox.url}/_sandbox/tokens/{token}/script",
                             json={"outcomes": [5051, "3ds", 0, 5005]}, timeout=5)
    assert response.status_code == 200
    assert response.json()["outcomes"] == [5051, "3ds", 0, 5005]
    with pytest.raises(PaymentDeclined) as declined:
        _charge(gateway, token, "charge:4:1")
    assert declined.value.reason_code == 5051
    assert _charge(gateway, token, "charge:4:2").needs_3ds
    assert _charge(gateway, token, "charge:4:3").success
    with pytest.raises(PaymentDeclined) as declined:
        _charge(gateway, token, "charge:4:4")
    assert declined.value.reason_code == 5005
    assert _charge(gateway, token, "charge:4:5").success
    # A repeated request id is answered from memory, not by the script.
    assert _charge(gateway, token, "charge:4:3").success


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/_sandbox/tokens/tk_nobody/script", {"outcomes": [0]}, 404),
    ("/_sandbox/tokens/{token}/script", {"outcomes": ["later"]}, 400),
    ("/_sandbox/tokens/{token}/script", {"outcomes": [-1]}, 400),
    ("/_sandbox/tokens/{token}/script", {"outcomes": "5051"}, 400),
])
def test_a_bad_script_is_refused(gateway, sandbox, path, body, status):
    token = _token(gateway, sandbox)
    response = requests.post(sandbox.url + path.format(token=token), json=body, timeout=5)
    assert response.status_code == status
    assert "error" in response.json()
