"""The webhook service speaks money: the adapter hands it a neutral notification, it returns a neutral
outcome; only the view layer knows HTTP statuses and CloudPayments' {"code": N}."""
import ast
from pathlib import Path
from urllib.parse import urlencode

import pytest

from billing.gateway.cloudpayments_notifications import answer_code, notification_receive
from billing.gateway.notifications import CheckRefusal, NotificationOutcome, Outcome, invalid, refused
from billing.services.webhooks import gateway_notification_receive
from billing.webhooks.answers import webhook_answer
from tests.webhooks.conftest import content_hmac, pay_fields

pytestmark = pytest.mark.django_db


def _received(account, kind, fields, *, secret=None):
    body = urlencode(fields).encode()
    return notification_receive(secret=account.cloudpayments_api_secret, kind=kind, raw_body=body,
                                content_type="application/x-www-form-urlencoded",
                                content_hmac=content_hmac(secret or account.cloudpayments_api_secret, body),
                                x_content_hmac=None)


def test_the_adapter_hands_over_a_typed_neutral_notification(account, invoiced):
    received = _received(account, "pay", pay_fields(invoiced, CardLastFour="4242"))
    note = received.notification
    assert received.signature_valid
    assert received.invalid is None
    assert (note.kind, note.transaction_id, note.invoice_number, str(note.amount)) == (
        "pay", "1001", invoiced.number, "10000.00")
    assert note.card_last_four == "4242"


def test_the_service_returns_neutral_outcomes(account, invoiced):
    assert gateway_notification_receive(account=account, received=_received(
        account, "check", pay_fields(invoiced, amount="1.00"))) == refused(CheckRefusal.WRONG_AMOUNT)
    assert gateway_notification_receive(account=account, received=_received(
        account, "pay", pay_fields(invoiced))).outcome == Outcome.ACCEPTED
    again = gateway_notification_receive(account=account, received=_received(account, "pay", pay_fields(invoiced)))
    assert again.outcome == Outcome.DUPLICATE
    assert again.effective.outcome == Outcome.ACCEPTED
    assert gateway_notification_receive(account=account, received=_received(
        account, "pay", pay_fields(invoiced), secret="wrong")).outcome == Outcome.REJECTED_SIGNATURE


@pytest.mark.parametrize(("outcome", "status", "code", "error_code"), [
    (NotificationOutcome(Outcome.ACCEPTED), 200, 0, None),
    (NotificationOutcome(Outcome.UNMATCHED), 200, 0, None),
    (refused(CheckRefusal.UNKNOWN_INVOICE), 200, 10, None),
    (refused(CheckRefusal.WRONG_ACCOUNT), 200, 11, None),
    (refused(CheckRefusal.WRONG_AMOUNT), 200, 12, None),
    (refused(CheckRefusal.NOT_PAYABLE), 200, 13, None),
    (refused(CheckRefusal.EXPIRED), 200, 20, None),
    (invalid("Amount", "bad"), 400, 13, "invalid_notification"),
    (NotificationOutcome(Outcome.NOT_CONNECTED, message="m"), 401, 13, "cloudpayments_not_connected"),
    (NotificationOutcome(Outcome.REJECTED_SIGNATURE, message="m"), 401, 13, "invalid_signature"),
    (NotificationOutcome(Outcome.FAILED, message="m"), 503, 13, "processing_failed"),
    (NotificationOutcome(Outcome.DUPLICATE, previous=refused(CheckRefusal.EXPIRED)), 200, 20, None),
])
def test_the_view_layer_maps_each_outcome_to_the_contract_answer(outcome, status, code, error_code):
    answer = webhook_answer(outcome)
    assert (answer.http_status, answer.body["code"], answer_code(outcome)) == (status, code, code)
    assert (answer.body.get("error") or {}).get("code") == error_code


def test_the_webhook_service_module_knows_no_http_status_or_wire_code():
    tree = ast.parse(Path("billing/services/webhooks.py").read_text())
    numbers = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
               and isinstance(node.value, int) and not isinstance(node.value, bool)}
    assert not numbers & {0, 10, 11, 12, 13, 20, 200, 400, 401, 503}
    assert "http_status" not in Path("billing/services/webhooks.py").read_text()
