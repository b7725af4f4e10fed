"""The CloudPayments loop over real HTTP: our server (live_server), the loopback sandbox, real PostgreSQL."""
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
import requests
import time_machine

from billing.models import Deal, GatewayEvent, Invoice, Payment
from billing.services.billing_run import billing_run
from sandboxes.cloudpayments import SandboxServer
from tests.conftest import WidgetClient
from tests.threads import run_together

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def sandbox(account, live_server, settings):
    account.cloudpayments_test_mode = True  # the sandbox terminal sends TestMode=1, as a test site does
    account.save(update_fields=["cloudpayments_test_mode"])
    server = SandboxServer(
        {account.cloudpayments_public_id: (account.cloudpayments_api_secret, account.webhook_key)},
        notify_url_template=f"{live_server.url}/webhooks/cloudpayments/{{account_key}}/{{kind}}",
        notify_time_factor="0.01", notify_attempts=3, notify_timeout=10,
    ).start()
    settings.CLOUDPAYMENTS_API_URL = server.url + "/"
    settings.CLOUDPAYMENTS_READ_TIMEOUT = 2
    settings.CLOUDPAYMENTS_RETRIES = 3
    settings.CLOUDPAYMENTS_BACKOFF = 0.01
    yield server
    server.stop()


def put_plan(account, lead_id: int, **changes) -> dict:
    body = {"plan": "equal", "total": "60000.00", "installments_count": 6, "first_due_date": "2026-12-05",
            "due_day": 5, **changes}
    response = WidgetClient(account).put(f"/api/v1/deals/{lead_id}/schedule", body)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_six_month_plan_walks_through_every_due_date_and_ends_paid(account, sandbox):
    plan = put_plan(account, 7001)
    for line in plan["installments"]:
        due = date.fromisoformat(line["due_date"])
        with time_machine.travel(due + timedelta(hours=12), tick=True):
            report = billing_run()
            assert len(report.issued) == 1, report
            invoice = Invoice.objects.get(number=report.issued[0])
            assert invoice.payment_url.startswith(sandbox.url)
            paid = sandbox.pay_order(invoice.gateway_order_id)
            assert paid["check_code"] == 0
            assert all(delivery.get("accepted") for delivery in paid["deliveries"]), paid["deliveries"]
            invoice.refresh_from_db()
            assert invoice.status == "paid"
            assert billing_run().issued == []
    deal = Deal.objects.get(external_id=7001)
    assert (deal.status, deal.debt, deal.paid) == ("paid", 0, 60000)
    assert Payment.objects.filter(method="cloudpayments").count() == 6
    assert Invoice.objects.count() == 6


def test_the_payment_page_pay_button_completes_the_installment(account, sandbox):
    put_plan(account, 7002, first_due_date="2026-11-24")
    response = WidgetClient(account).post("/api/v1/deals/7002/invoices", {})
    assert response.status_code == 201, response.content
    page = requests.get(response.json()["payment_url"], timeout=5)
    assert page.status_code == 200
    assert "Pay" in page.text or "Оплатить" in page.text
    order_id = response.json()["payment_url"].rstrip("/").split("/")[-1]
    requests.post(f"{sandbox.url}/d/{order_id}/pay", timeout=10)
    deal = WidgetClient(account).get("/api/v1/deals/7002").json()
    assert deal["paid"] == "10000.00"
    assert deal["schedule"]["installments"][0]["status"] == "paid"
    assert deal["invoices"][0]["status"] == "paid"


def test_a_declined_card_records_the_reason_and_leaves_the_link_payable(account, sandbox):
    put_plan(account, 7003, first_due_date="2026-11-24")
    invoice_id = WidgetClient(account).post("/api/v1/deals/7003/invoices", {}).json()["id"]
    invoice = Invoice.objects.get(pk=invoice_id)
    sandbox.pay_order(invoice.gateway_order_id, outcome="fail", reason_code=5051)
    invoice.refresh_from_db()
    assert invoice.status == "issued"
    assert "5051" in invoice.last_failure_reason
    sandbox.pay_order(invoice.gateway_order_id)
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_gateway_5xx_and_timeouts_are_retried_into_one_order(account, sandbox):
    put_plan(account, 7004, first_due_date="2026-11-24")
    sandbox.set_faults(fail_next=2, status=503)
    assert WidgetClient(account).post("/api/v1/deals/7004/invoices", {}).status_code == 201
    creates = [call for call in sandbox.journal if call["path"].endswith("orders/create")]
    assert len(creates) == 3
    assert len({call["headers"]["X-Request-ID"] for call in creates}) == 1
    assert len(sandbox.ledger.orders) == 1
    assert Invoice.objects.get().status == "issued"


@pytest.mark.parametrize("faults", [{"fail_next": 2, "status": 429}, {"drop_next": 2}], ids=["429", "reset"])
def test_gateway_429_and_connection_resets_are_retried_into_one_order(account, sandbox, faults):
    # [I] faults: a throttled gateway and connections closed without an answer, then a good answer.
    put_plan(account, 7008, first_due_date="2026-11-24")
    sandbox.set_faults(**faults)
    assert WidgetClient(account).post("/api/v1/deals/7008/invoices", {}).status_code == 201
    creates = [call for call in sandbox.journal if call["path"].endswith("orders/create")]
    assert len({call["headers"]["X-Request-ID"] for call in creates}) == 1
    assert len(sandbox.ledger.orders) == 1
    assert Invoice.objects.get().status == "issued"


def test_a_timeout_leaves_creating_and_the_next_tick_finds_the_same_order(account, sandbox, settings):
    put_plan(account, 7005, first_due_date="2026-11-24")
    settings.CLOUDPAYMENTS_RETRIES = 0
    sandbox.set_faults(delay_seconds=3)
    billing_run()
    assert Invoice.objects.get().status == "creating"
    sandbox.set_faults(reset=True)
    billing_run()
    invoice = Invoice.objects.get()
    assert invoice.status == "issued"
    assert len(sandbox.ledger.orders) == 1


def _signed_pay(sandbox, invoice, amount: str, transaction_id: int) -> tuple[bytes, dict]:
    from urllib.parse import urlencode

    from billing.gateway.signature import sign

    fields = {"TransactionId": str(transaction_id), "Amount": amount, "Currency": "RUB",
              "DateTime": "2026-11-24 10:00:00", "Status": "Completed", "InvoiceId": invoice.number,
              "AccountId": str(invoice.deal.external_id), "TestMode": "1", "Token": ""}
    body = urlencode(fields).encode()
    return body, {"Content-HMAC": sign(invoice.account.cloudpayments_api_secret, body),
                  "Content-Type": "application/x-www-form-urlencoded"}


def test_twenty_concurrent_deliveries_of_one_pay_record_exactly_one_payment(account, sandbox, live_server):
    put_plan(account, 7006, first_due_date="2026-11-24")
    invoice = Invoice.objects.get(pk=WidgetClient(account).post("/api/v1/deals/7006/invoices", {}).json()["id"])
    body, headers = _signed_pay(sandbox, invoice, "10000.00", 990001)
    url = f"{live_server.url}/webhooks/cloudpayments/{account.webhook_key}/pay"
    answers = run_together([lambda: requests.post(url, data=body, headers=headers, timeout=30)
                            for _ in range(20)])
    assert Counter(answer.status_code for answer in answers) == {200: 20}
    assert {answer.json()["code"] for answer in answers} == {0}
    assert Payment.objects.filter(transaction_id="990001").count() == 1
    assert GatewayEvent.objects.filter(kind="pay").count() == 1
    assert Deal.objects.get(external_id=7006).paid == 10000


def test_a_pay_racing_a_manual_payment_keeps_every_rouble(account, sandbox, live_server):
    put_plan(account, 7007, total="20000.00", installments_count=2, first_due_date="2026-11-24")
    invoice = Invoice.objects.get(pk=WidgetClient(account).post("/api/v1/deals/7007/invoices", {}).json()["id"])
    body, headers = _signed_pay(sandbox, invoice, "10000.00", 990002)
    url = f"{live_server.url}/webhooks/cloudpayments/{account.webhook_key}/pay"
    manual = {"amount": "15000.00", "method": "cash", "paid_at": "2026-11-24"}
    gateway_answer, manual_answer = run_together([
        lambda: requests.post(url, data=body, headers=headers, timeout=30),
        lambda: WidgetClient(account).post("/api/v1/deals/7007/payments", manual),
    ])
    assert gateway_answer.json() == {"code": 0}
    deal = Deal.objects.get(external_id=7007)
    gateway_paid = Payment.objects.get(transaction_id="990002").amount
    assert gateway_paid == Decimal("10000.00")
    if manual_answer.status_code == 201:
        # The manager came first: the gateway money still counts, the excess is credit.
        assert (deal.paid, deal.debt) == (25000, -5000)
    else:
        assert manual_answer.json()["error"]["code"] == "overpayment"
        assert (deal.paid, deal.debt) == (10000, 10000)
    assert deal.paid == sum(p.amount for p in Payment.objects.filter(deal=deal))
