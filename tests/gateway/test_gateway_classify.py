"""Answer classification in the order of contract §1: Message, then AcsUrl, then ReasonCode."""
from decimal import Decimal

import pytest

from billing.gateway.cloudpayments import classify
from billing.gateway.errors import GatewayRejected, GatewayUnavailable, PaymentDeclined


def test_accepted_answer_passes():
    envelope = {"Success": True, "Message": None, "Model": {"TransactionId": 1, "Amount": Decimal("1.00")}}
    assert classify(envelope) is envelope


def test_message_means_request_error_even_with_a_model():
    with pytest.raises(GatewayRejected, match="Amount is required"):
        classify({"Success": False, "Message": "Amount is required", "Model": {"ReasonCode": 5051}})


def test_acs_url_means_3ds_not_an_error():
    envelope = {"Success": False, "Message": None, "Model": {"TransactionId": 5, "AcsUrl": "https://acs", "PaReq": "x"}}
    assert classify(envelope) is envelope


def test_reason_code_means_declined():
    with pytest.raises(PaymentDeclined) as declined:
        classify({"Success": False, "Message": None,
                  "Model": {"TransactionId": 9, "ReasonCode": 5051, "Reason": "InsufficientFunds"}})
    assert (declined.value.reason_code, declined.value.transaction_id) == (5051, 9)


def test_false_without_message_or_reason_is_rejected():
    with pytest.raises(GatewayRejected):
        classify({"Success": False, "Message": None, "Model": {"ReasonCode": 0}})


@pytest.mark.parametrize("answer", [[], "ok", {"Model": {}}])
def test_anything_but_an_envelope_is_unavailable(answer):
    with pytest.raises(GatewayUnavailable):
        classify(answer)
