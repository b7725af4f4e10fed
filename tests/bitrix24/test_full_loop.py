"""The whole loop for a Bitrix24 portal over real HTTP (our live server, the loopback Bitrix24 and
CloudPayments sandboxes in threads, real PostgreSQL and Redis): install through the sandbox → a plan built
from the deal tab (the widget API with the frame's PayPlan token) → the billing run issues the invoice →
CloudPayments' Pay notification → the deal moved to the won stage of its own pipeline (C1:WON), a timeline
comment on the payment and PayPlan's user fields filled. Celery runs eagerly, so every commit drains the
outbox right away, as a worker would a moment later."""
import json
import re
import time
from datetime import date, timedelta

import pytest
import requests
import time_machine

from billing.models import Deal, Invoice
from billing.services.accounts import account_cloudpayments_update
from billing.services.billing_run import billing_run
from crm.bitrix24.models import Portal
from crm.models import CrmAction
from sandboxes.bitrix24 import DEFAULT_MEMBER_ID
from sandboxes.cloudpayments import SandboxServer
from tests.bitrix24.conftest import install

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

BOOT = re.compile(r'<script id="payplan-boot" type="application/json">(.*?)</script>', re.S)


class DealTab:
    """The PayPlan tab of a deal card as the browser has it: the frame POST (through the sandbox) gives the
    page, whose boot JSON holds the PayPlan token; the widget API is called with it over HTTP."""

    def __init__(self, sandbox, app_url: str, deal_id: int) -> None:
        answers = sandbox.open_frame(deal_id=deal_id)
        assert [answer["status"] for answer in answers] == [200], answers
        self.boot = json.loads(BOOT.search(answers[0]["body"])[1])
        self.url = app_url
        self.deal_id = deal_id

    def call(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        return requests.request(method, f"{self.url}/api/v1/deals/{self.deal_id}{path}", json=body, timeout=30,
                                headers={"Authorization": f"Bearer {self.boot['token']}"})


@pytest.fixture
def cloudpayments(live_server, settings):
    """The CloudPayments sandbox, started once the portal's account exists (its keys are set then)."""
    servers = []

    def start(account):
        account = account_cloudpayments_update(account=account, public_id="pk_b24", api_secret="b24-api-secret",
                                               test_mode=True)
        server = SandboxServer({"pk_b24": ("b24-api-secret", account.webhook_key)},
                               notify_url_template=f"{live_server.url}/webhooks/cloudpayments/{{account_key}}/{{kind}}",
                               notify_time_factor="0.01", notify_attempts=3, notify_timeout=10).start()
        settings.CLOUDPAYMENTS_API_URL = server.url + "/"
        settings.CLOUDPAYMENTS_READ_TIMEOUT, settings.CLOUDPAYMENTS_RETRIES = 2, 3
        settings.CLOUDPAYMENTS_BACKOFF = 0.01
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def comments_of(sandbox, deal_id: int) -> list[str]:
    return [row["COMMENT"] for row in sandbox.snapshot()["comments"] if str(row.get("ENTITY_ID")) == str(deal_id)]


def test_install_plan_from_the_deal_tab_invoice_pay_and_the_deal_is_won(sandbox, app_url, cloudpayments):
    assert install(sandbox, app_url)["status"] == 200
    account = Portal.objects.select_related("account").get(member_id=DEFAULT_MEMBER_ID).account
    assert account.crm_kind == "bitrix24"
    payments = cloudpayments(account)
    tab = DealTab(sandbox, app_url, 8061)
    assert tab.boot["crm"] == "bitrix24"

    first_due = date(2026, 12, 5)
    answer = tab.call("PUT", "/schedule", {"plan": "full", "total": "72000.00",
                                          "first_due_date": first_due.isoformat()})
    assert answer.status_code == 200, answer.content
    assert tab.call("GET", "").json()["total"] == "72000.00"

    with time_machine.travel(first_due + timedelta(hours=12), tick=True):
        report = billing_run()
        assert len(report.issued) == 1, report
        invoice = Invoice.objects.get(number=report.issued[0])
        paid = payments.pay_order(invoice.gateway_order_id)
        assert all(delivery.get("accepted") for delivery in paid["deliveries"]), paid["deliveries"]

    deal = Deal.objects.get(account=account, external_id=8061)
    assert (deal.status, deal.debt) == ("paid", 0)
    portal_deal = sandbox.snapshot()["deals"]["8061"]
    assert (portal_deal["CATEGORY_ID"], portal_deal["STAGE_ID"]) == ("1", "C1:WON")  # its own pipeline's won
    assert portal_deal["UF_CRM_PAYPLAN_TOTAL"] == "72000.00"
    assert portal_deal["UF_CRM_PAYPLAN_DEBT"] == "0.00"
    comments = comments_of(sandbox, 8061)
    assert comments[0].startswith("График платежей создан")
    assert any(text.startswith("Выставлен счёт") for text in comments), comments
    assert any("CloudPayments" in text and "72\u00a0000,00\u00a0₽" in text for text in comments), comments
    assert _outbox_settled(), list(CrmAction.objects.exclude(state="done").values_list("kind", "state", "last_error"))
    assert CrmAction.objects.filter(state="dead").count() == 0
    deal.refresh_from_db()
    assert deal.name == "Банкротство физлица: Соколова"  # read from Bitrix24 when the tab first opened it


def _outbox_settled(polls: int = 300) -> bool:
    """Every CRM action that writes to the portal is done (bounded wait: a drain in the live server's thread may
    be sending one now). Lead fetches are reads: the portal's echo of our own field updates (ONCRMDEALUPDATE)
    queues one at the test's travelled date, which the frozen clock of the check does not reach yet."""
    for _ in range(polls):
        if not CrmAction.objects.exclude(state="done").exclude(kind=CrmAction.Kind.FETCH_LEAD).exists():
            return True
        time.sleep(0.1)
    return False
