"""The sandbox as a server: auth, envelopes, form bodies, payer pages, control API and the command line."""
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import requests

from sandboxes.cloudpayments.__main__ import build_parser, parse_account


def test_missing_or_wrong_credentials_get_401(sandbox, api, school):
    assert requests.post(f"{sandbox.url}/test", timeout=5).status_code == 401
    assert api("test", auth=(school["public_id"], "nope")).status_code == 401
    assert api("test").json()["Success"] is True


def test_unknown_method_is_404(api):
    assert api("payments/unknown").status_code == 404


def test_form_bodies_and_any_key_casing_are_accepted(sandbox, school):
    answer = requests.post(f"{sandbox.url}/orders/create", data={"amount": "10.50", "description": "Форма"},
                           auth=(school["public_id"], school["api_secret"]), timeout=5)
    model = answer.json()["Model"]
    assert (model["Amount"], model["Description"], model["Status"]) == (10.5, "Форма", "Created")


def test_order_amount_rules(api):
    for amount, message in (("0.00", "at least 0.01"), ("1.001", "at most 2 decimals"), (None, "required")):
        answer = api("orders/create", {"Amount": amount, "Description": "x"}).json()
        assert not answer["Success"]
        assert message in answer["Message"]


def test_order_model_dates_and_url(api, sandbox):
    model = api("orders/create", {"Amount": Decimal("1"), "Description": "x"}).json()["Model"]
    assert model["CreatedDate"] == "/Date(1772355600000)/"  # 2026-03-01 09:00 UTC, the injected clock
    assert model["CreatedDateIso"] == "2026-03-01T12:00:00"  # Moscow time, like the real example
    assert model["Url"] == f"{sandbox.url}/d/{model['Id']}"


def test_payments_find_and_get(api, sandbox):
    order = api("orders/create", {"Amount": Decimal("5"), "Description": "x", "InvoiceId": "42"}).json()["Model"]
    order_id = order["Id"]
    assert api("payments/find", {"InvoiceId": "42"}).json() == {"Success": False, "Message": "Not found"}
    payment_id = sandbox.pay_order(order_id)["transaction_id"]
    found = api("payments/find", {"InvoiceId": "42"}).json()["Model"]
    assert found == api("payments/get", {"TransactionId": payment_id}).json()["Model"]
    assert (found["StatusCode"], found["TestMode"], found["InvoiceId"]) == (3, True, "42")


def test_receipt_can_be_read_back(api):
    receipt = {"Items": [{"Label": "x" * 200, "Price": Decimal("1"), "Quantity": 2, "Amount": Decimal("2")}]}
    queued = api("kkt/receipt", {"Inn": "770880666612", "Type": "IncomeReturn", "CustomerReceipt": receipt}).json()
    assert (queued["Success"], queued["Message"]) == (True, "Queued")
    model = api("kkt/receipt/get", {"Id": queued["Model"]["Id"]}).json()["Model"]
    assert model["Amount"] == 2
    assert len(model["Receipt"]["Items"][0]["Label"]) == 128


def test_payment_page_and_its_buttons(api, sandbox):
    order = api("orders/create", {"Amount": Decimal("1500"), "Description": "Курс <b>", "InvoiceId": "INV-9"}
                ).json()["Model"]
    page = requests.get(order["Url"], timeout=5)
    assert page.status_code == 200
    assert "text/html" in page.headers["Content-Type"]
    assert "Курс &lt;b&gt;" in page.text
    assert "1500.00" in page.text
    assert "INV-9" in page.text
    assert f'action="/d/{order["Id"]}/pay"' in page.text
    assert f'action="/d/{order["Id"]}/fail"' in page.text
    assert "Payment failed" in requests.post(f"{order['Url']}/fail", timeout=5).text
    accepted = requests.post(f"{order['Url']}/pay", data={"card": "5555 5555 5555 4444"}, timeout=5)
    assert "Payment accepted" in accepted.text
    assert [txn.status for txn in sandbox.ledger.transactions.values()] == ["Declined", "Completed"]
    assert requests.get(f"{sandbox.url}/d/missing", timeout=5).status_code == 404


def test_cancelled_order_cannot_be_paid(api, sandbox):
    order = api("orders/create", {"Amount": Decimal("1"), "Description": "x"}).json()["Model"]
    api("orders/cancel", {"Id": order["Id"]})
    assert "<form" not in requests.get(order["Url"], timeout=5).text
    assert requests.post(f"{order['Url']}/pay", timeout=5).status_code == 409


def test_control_api_pays_notifies_and_switches_faults(api, sandbox, receiver, school):
    sandbox.notify_url_template = receiver.url_template
    order = api("orders/create", {"Amount": Decimal("3"), "Description": "x"}).json()["Model"]
    paid = requests.post(f"{sandbox.url}/_sandbox/orders/{order['Id']}/pay",
                         json={"outcome": "fail", "reason_code": 5054}, timeout=5).json()
    assert paid["reason_code"] == 5054
    assert [d["kind"] for d in paid["deliveries"]] == ["Check", "Fail"]
    pushed = requests.post(f"{sandbox.url}/_sandbox/notify", timeout=5, json={
        "kind": "recurrent", "account_key": school["account_key"], "fields": {"Id": "sc_1", "Status": "Active"}})
    assert pushed.json()["deliveries"][0]["accepted"]
    assert receiver.received[-1]["kind"] == "recurrent"
    faults = requests.post(f"{sandbox.url}/_sandbox/faults", json={"fail_next": 1, "status": 502}, timeout=5)
    assert faults.json()["faults"]["fail_next"] == 1
    assert api("test").status_code == 502
    assert api("test").status_code == 200
    assert requests.post(f"{sandbox.url}/_sandbox/faults", json={"bogus": 1}, timeout=5).status_code == 400
    journal = requests.get(f"{sandbox.url}/_sandbox/journal", timeout=5).json()
    assert [entry["status"] for entry in journal["api"]][-2:] == [502, 200]
    assert "Authorization" not in journal["api"][0]["headers"]
    assert len(journal["deliveries"]) == 3


def test_control_api_errors(sandbox, school):
    assert requests.post(f"{sandbox.url}/_sandbox/orders/none/pay", json={}, timeout=5).status_code == 404
    assert requests.post(f"{sandbox.url}/_sandbox/notify", timeout=5,
                         json={"kind": "Pay", "account_key": "nobody", "fields": {}}).status_code == 404
    assert requests.post(f"{sandbox.url}/_sandbox/notify", timeout=5,
                         json={"kind": "Bogus", "account_key": school["account_key"]}).status_code == 400


def test_command_line_options():
    args = build_parser().parse_args(["--port", "0", "--account", "pk_1:se:cr:et:school",
                                      "--notify-url-template", "http://127.0.0.1:8000/{account_key}/{kind}"])
    assert args.accounts == [("pk_1", ("se:cr:et", "school"))]
    assert args.port == 0
    assert parse_account("pk:s:k") == ("pk", ("s", "k"))


def test_command_line_serves_the_demo_account():
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen([sys.executable, "-m", "sandboxes.cloudpayments", "--port", "0"], cwd=root,
                               stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().split()[3]
        answer = requests.post(f"{url}/test", auth=("test_api_00000000000000000000001", "sandbox_api_secret"),
                               timeout=5)
        assert answer.json()["Success"] is True
    finally:
        process.terminate()
        process.wait(5)
