"""The sandbox playing the payer: signed Check/Pay/Fail to a local receiver, retries and fault switches."""
import re
from decimal import Decimal

import pytest

from billing.gateway.interface import CreateOrder, Refund


@pytest.fixture
def order(gateway):
    """An order of 1500.00 for invoice 2026-000123 of deal-42."""
    order = CreateOrder(amount=Decimal("1500"), description="Оплата курса", invoice_id="2026-000123",
                        account_id="deal-42", email="student@example.com", json_data={"installment": 3})
    return gateway.create_order(order, request_id="order:school:2026-000123")


def test_pay_sends_check_then_pay_both_verifiable_by_each_header(notifying_sandbox, receiver, order, school):
    result = notifying_sandbox.pay_order(order.order_id)
    assert receiver.kinds == ["check", "pay"]
    assert all(entry["raw_variant_ok"] and entry["decoded_variant_ok"] for entry in receiver.received)
    assert {entry["account_key"] for entry in receiver.received} == {school["account_key"]}
    check, pay = (entry["fields"] for entry in receiver.received)
    assert check["TransactionId"] == pay["TransactionId"] == str(result["transaction_id"])
    assert check["Status"] == "Completed"
    assert check["OperationType"] == "Payment"
    assert pay["Status"] == "Completed"
    assert pay["Amount"] == "1500.00"
    assert pay["Currency"] == "RUB"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", pay["DateTime"])
    assert pay["DateTime"] == "2026-03-01 09:00:00"  # the injected clock, in UTC
    assert (pay["InvoiceId"], pay["AccountId"], pay["TestMode"]) == ("2026-000123", "deal-42", "1")
    assert pay["Data"] == '{"installment":3}'
    assert pay["Description"] == "Оплата курса"
    assert pay["Token"].startswith("tk_sbx_")
    assert pay["SubscriptionId"] == ""
    assert pay["IpCity"] == ""
    assert receiver.received[1]["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert result["status"] == "Completed"
    assert all(d["accepted"] for d in result["deliveries"])


def test_two_stage_order_pays_as_authorized(gateway, notifying_sandbox, receiver):
    order = CreateOrder(amount=Decimal("10"), description="Hold", invoice_id="7", account_id="deal-1",
                        require_confirmation=True)
    created = gateway.create_order(order, request_id="order:school:7")
    notifying_sandbox.pay_order(created.order_id)
    assert [entry["fields"]["Status"] for entry in receiver.received] == ["Authorized", "Authorized"]


def test_check_declined_gives_fail_and_is_not_retried(notifying_sandbox, receiver, order):
    receiver.script("check", (200, {"code": 12}))
    result = notifying_sandbox.pay_order(order.order_id, amount="1000.00")
    assert receiver.kinds == ["check", "fail"]
    assert receiver.of_kind("check")[0]["fields"]["Amount"] == "1000.00"
    fail = receiver.of_kind("fail")[0]["fields"]
    assert fail["ReasonCode"] == "3003"
    assert result["status"] == "Declined"
    assert result["deliveries"][0]["attempts"] == [{"status": 200, "code": 12, "answer": '{"code": 12}'}]


def test_unreachable_check_declines_without_retry(notifying_sandbox, order):
    notifying_sandbox.notify_url_template = "http://127.0.0.1:9/{account_key}/{kind}"
    result = notifying_sandbox.pay_order(order.order_id)
    assert result["reason_code"] == 3007
    check = result["deliveries"][0]
    assert check["kind"] == "Check"
    assert len(check["attempts"]) == 1
    assert check["attempts"][0]["status"] is None


def test_fail_outcome_carries_reason_and_code(notifying_sandbox, receiver, order):
    notifying_sandbox.pay_order(order.order_id, outcome="fail", reason_code=5005)
    fail = receiver.of_kind("fail")[0]["fields"]
    assert (fail["ReasonCode"], fail["Reason"], fail["OperationType"]) == ("5005", "DoNotHonor", "Payment")


def test_insufficient_funds_card_fails_after_check(notifying_sandbox, receiver, order):
    notifying_sandbox.pay_order(order.order_id, card="4012 8888 8888 1881")
    assert receiver.kinds == ["check", "fail"]
    assert receiver.of_kind("fail")[0]["fields"]["ReasonCode"] == "5051"


def test_pay_is_retried_until_code_zero(notifying_sandbox, receiver, order):
    receiver.script("pay", (500, {"error": "db down"}), (200, {"code": 13}))
    result = notifying_sandbox.pay_order(order.order_id)
    pay_delivery = result["deliveries"][-1]
    assert [attempt["status"] for attempt in pay_delivery["attempts"]] == [500, 200, 200]
    assert pay_delivery["accepted"]
    assert receiver.kinds == ["check", "pay", "pay", "pay"]


def test_retries_are_bounded(notifying_sandbox, receiver, order):
    receiver.script("pay", *[(503, {})] * 10)
    result = notifying_sandbox.pay_order(order.order_id)
    assert len(result["deliveries"][-1]["attempts"]) == 5
    assert not result["deliveries"][-1]["accepted"]


def test_corrupt_signature_is_refused_by_the_receiver(notifying_sandbox, receiver, order):
    notifying_sandbox.set_faults(corrupt_signature=True)
    notifying_sandbox.pay_order(order.order_id)
    assert receiver.received
    assert not any(entry["verified"] for entry in receiver.received)
    assert receiver.kinds[:2] == ["check", "fail"]  # a refused Check declines the payment


def test_duplicate_notifications_deliver_pay_twice(notifying_sandbox, receiver, order):
    notifying_sandbox.set_faults(duplicate_notifications=True)
    notifying_sandbox.pay_order(order.order_id)
    assert receiver.kinds == ["check", "pay", "pay"]
    first, second = receiver.of_kind("pay")
    assert first["raw"] == second["raw"]


def test_fail_then_pay_links_the_fallback(notifying_sandbox, receiver, order):
    notifying_sandbox.set_faults(fail_then_pay=True)
    result = notifying_sandbox.pay_order(order.order_id)
    assert receiver.kinds == ["check", "fail", "pay"]
    fail, pay = receiver.of_kind("fail")[0]["fields"], receiver.of_kind("pay")[0]["fields"]
    assert pay["FallBackScenarioDeclinedTransactionId"] == fail["TransactionId"]
    assert pay["TransactionId"] != fail["TransactionId"]
    assert result["transaction_ids"] == [int(fail["TransactionId"]), int(pay["TransactionId"])]


def test_refund_sends_a_refund_notification(gateway, notifying_sandbox, receiver, order):
    payment_id = notifying_sandbox.pay_order(order.order_id)["transaction_id"]
    refund = gateway.refund(Refund(transaction_id=payment_id, amount=Decimal("500")), request_id="refund:1:1")
    notifying_sandbox.wait_for_deliveries(3)
    fields = receiver.of_kind("refund")[0]["fields"]
    assert (fields["TransactionId"], fields["PaymentTransactionId"]) == (str(refund.transaction_id), str(payment_id))
    assert (fields["Amount"], fields["OperationType"]) == ("500.00", "Refund")


def test_confirm_and_void_check_the_state_and_notify(gateway, notifying_sandbox, receiver, api):
    held = CreateOrder(amount=Decimal("10"), description="Hold", invoice_id="8", account_id="deal-1",
                       require_confirmation=True)
    first = notifying_sandbox.pay_order(gateway.create_order(held, request_id="order:8").order_id)
    assert api("payments/confirm", {"TransactionId": first["transaction_id"], "Amount": Decimal("10.01")}
               ).json()["Message"] == "Amount exceeds the authorized amount"
    confirm = api("payments/confirm", {"TransactionId": first["transaction_id"], "Amount": Decimal("9.00")})
    assert confirm.json() == {"Success": True, "Message": None}
    assert not api("payments/void", {"TransactionId": first["transaction_id"]}).json()["Success"]
    second = notifying_sandbox.pay_order(gateway.create_order(held, request_id="order:9").order_id)
    assert api("payments/void", {"TransactionId": second["transaction_id"]}).json()["Success"]
    notifying_sandbox.wait_for_deliveries(6)
    assert receiver.of_kind("confirm")[0]["fields"]["Amount"] == "9.00"
    assert receiver.of_kind("cancel")[0]["fields"]["TransactionId"] == str(second["transaction_id"])


def test_token_charge_notifies_pay_after_answering(gateway, notifying_sandbox, receiver, api, order):
    token = notifying_sandbox.pay_order(order.order_id)["deliveries"][-1]["fields"]["Token"]
    answer = api("payments/tokens/charge", {"Amount": Decimal("1"), "AccountId": "deal-42", "Token": token,
                                            "TrInitiatorCode": 0, "PaymentScheduled": 1}, request_id="c:1")
    assert answer.json()["Success"]
    notifying_sandbox.wait_for_deliveries(3)
    assert receiver.kinds == ["check", "pay", "pay"]
