"""[K] In Chromium: on the demo's outgoing claim the accountant presses «Одобрить выплату» and watches the
payout go out through the YooKassa sandbox's payout gateway; nothing went out before the press."""
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.demo import DEMO_YOOKASSA_PAYOUT_AGENT_ID, DEMO_YOOKASSA_PAYOUT_SECRET
from billing.domain.schedule import PlanRequest
from billing.models import Deal, Payout
from billing.services import ScheduleOptions, schedule_replace
from billing.services.payouts import payouts_run
from billing.time import account_today
from sandboxes.yookassa import YooKassaSandbox

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PAYOUT_LEAD = 17654  # demo: outgoing claim, SBP requisites with automatic payouts on


@pytest.fixture
def payout_gateway(demo, live_server, settings):
    server = YooKassaSandbox({}, payout_gateways={DEMO_YOOKASSA_PAYOUT_AGENT_ID: (
        DEMO_YOOKASSA_PAYOUT_SECRET, f"{live_server.url}/webhooks/yookassa/{demo.webhook_key}")},
        notify_retry_seconds=0.01).start()
    settings.YOOKASSA_API_URL = server.api_url
    yield server
    server.settle()
    server.stop()


def test_the_accountant_approves_and_the_payout_goes_out(demo, payout_gateway, open_demo):
    today = account_today(demo)
    deal = Deal.objects.get(account=demo, external_id=PAYOUT_LEAD)
    schedule_replace(deal=deal, plan_request=PlanRequest(plan="equal", total=Decimal("150000"),
                                                         installments_count=3, first_due_date=today),
                     options=ScheduleOptions(direction="outgoing"), created_by=None, today=today)
    payouts_run(account=demo, today=today)
    payout = Payout.objects.get(deal=deal)
    page = open_demo(lead=PAYOUT_LEAD)
    block = page.locator("[data-auto-payouts]")
    expect(block).to_contain_text("Автоматические выплаты через ЮKassa")
    expect(block).to_contain_text("ждёт одобрения бухгалтера")
    assert payout_gateway.payouts == {}
    block.locator('[data-payplan-action="auto-payout-approve"]').click()
    expect(page.locator("[data-auto-payouts]")).to_contain_text("выплачено")
    payout.refresh_from_db()
    assert payout.state == Payout.State.PAID
    assert len(payout_gateway.payouts) == 1
    sent = next(iter(payout_gateway.payouts.values()))
    assert sent["payout_destination"]["type"] == "sbp"
    assert sent["amount"]["value"] == "50000.00"
