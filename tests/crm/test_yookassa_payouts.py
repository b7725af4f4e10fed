"""Payouts that pay themselves ([K] point 5) over real HTTP: PostgreSQL, the amoCRM sandbox (the accountant's
task), the YooKassa sandbox's /v3/payouts with its own payout gateway keys, our webhook on a live server.
Never without the accountant's approval, never to a client without requisites, recorded once when YooKassa
confirms it, a failure back to the accountant, a tick run twice pays nothing twice."""
from datetime import UTC, datetime

import pytest

from billing.errors import ApplicationError
from billing.models import Payment, Payout
from billing.services.account_settings import account_settings_change
from billing.services.billing_run import billing_run
from billing.services.payouts_auto import payout_send
from crm.amocrm.payout_tasks import payout_tasks_poll
from sandboxes.amocrm.seed import ACCOUNTANT_USER_ID
from sandboxes.yookassa import YooKassaSandbox
from tests.conftest import WidgetClient, assert_error
from tests.crm.conftest import drain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
LEAD = 17655
AGENT, AGENT_KEY = "505050", "test_payout_gateway_key"
PLAN = {"plan": "equal", "total": "90000.00", "installments_count": 3, "first_due_date": "2026-12-31",
        "due_day": "last", "direction": "outgoing", "requisites": "СБП +7 900 000-00-00"}
SBP = {"kind": "sbp", "phone": "+7 (900) 000-00-00", "bank_id": "100000000111", "auto": True}


@pytest.fixture
def payouts(installed, live_server, settings):
    account = account_settings_change(account=installed, changes={
        "roles": {"accountant_user_id": ACCOUNTANT_USER_ID},
        "yookassa": {"payout_agent_id": AGENT, "payout_secret_key": AGENT_KEY}})
    server = YooKassaSandbox({}, payout_gateways={
        AGENT: (AGENT_KEY, f"{live_server.url}/webhooks/yookassa/{account.webhook_key}")},
        notify_attempts=3, notify_timeout=20, notify_retry_seconds=0.01).start()
    settings.YOOKASSA_API_URL = server.api_url
    settings.YOOKASSA_READ_TIMEOUT = 3
    settings.YOOKASSA_BACKOFF = 0.01
    yield account, server
    server.settle()
    server.stop()


def due_payout(account, frozen_clock, destination=SBP) -> tuple[WidgetClient, Payout]:
    widget = WidgetClient(account)
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", PLAN).status_code == 200
    if destination:
        response = widget.put(f"/api/v1/deals/{LEAD}/payout-destination", destination)
        assert response.status_code == 200, response.content
        assert response.json()["destination"]["phone"] == "79000000000"
    frozen_clock.move_to(datetime(2026, 12, 31, 9, tzinfo=UTC))
    billing_run()
    billing_run()
    drain(account)
    return widget, Payout.objects.get(deal__external_id=LEAD)


def accountant_task(sandbox, prefix: str):
    return [task for _, task in sorted(sandbox.account().tasks.items())
            if task.entity_id == LEAD and task.text.startswith(prefix)]


def posts(server) -> list[dict]:
    return [call for call in server.journal if call["method"] == "POST" and call["path"] == "/v3/payouts"]


def test_nothing_goes_out_before_the_accountant_approves_and_the_task_completion_pays_once(payouts, sandbox,
                                                                                          frozen_clock):
    account, server = payouts
    _widget, payout = due_payout(account, frozen_clock)
    billing_run()  # approved payouts only: nothing is sent
    assert posts(server) == []
    with pytest.raises(ApplicationError) as refused:
        payout_send(payout_id=payout.pk, today=payout.due_date)
    assert refused.value.code == "payout_not_approved"
    assert "не одобрена бухгалтером" in refused.value.message

    task = accountant_task(sandbox, "Одобрите автоматическую выплату")[0]
    assert "30\u00a0000,00\u00a0₽" in task.text
    sandbox.complete_task(task.id, user_id=ACCOUNTANT_USER_ID, result="Одобрено")
    for _ in range(2):
        payout_tasks_poll(account=account)
        billing_run()
    server.settle()
    drain(account)

    payout.refresh_from_db()
    assert payout.state == Payout.State.PAID
    assert payout.gateway_status == "succeeded"
    assert payout.approved_by == ACCOUNTANT_USER_ID
    assert len(server.payouts) == 1
    sent = next(iter(server.payouts.values()))
    assert sent["amount"] == {"value": "30000.00", "currency": "RUB"}
    assert sent["payout_destination"] == {"type": "sbp", "phone": "79000000000", "bank_id": "100000000111"}
    assert {call["headers"]["Idempotence-Key"] for call in posts(server)} == {f"po:{account.pk}:{payout.pk}:0"}
    assert Payment.objects.filter(deal__external_id=LEAD).count() == 1
    assert any(delivery["event"] == "payout.succeeded" and delivery["accepted"] for delivery in server.store.deliveries)


def test_without_requisites_the_approval_is_refused_with_a_clear_code(payouts, sandbox, frozen_clock):
    account, server = payouts
    widget, payout = due_payout(account, frozen_clock, destination=None)
    response = widget.post(f"/api/v1/deals/{LEAD}/payouts/{payout.pk}/approve", {})
    error = assert_error(response, 409, "payout_no_requisites")
    assert "нет реквизитов" in error["message"]
    assert posts(server) == []
    payout.refresh_from_db()
    assert payout.approved_at is None


def test_a_canceled_payout_goes_back_to_the_accountant_and_the_retry_button_pays(payouts, sandbox, frozen_clock):
    account, server = payouts
    widget, payout = due_payout(account, frozen_clock)
    server.set_faults(payout_outcome="insufficient_funds")
    response = widget.post(f"/api/v1/deals/{LEAD}/payouts/{payout.pk}/approve", {})
    assert response.status_code == 200, response.content
    row = response.json()["payouts"][0]
    assert row["gateway_status"] == "canceled"
    assert row["failure"] == "недостаточно денег на балансе шлюза выплат"
    assert row["can_approve"] is True
    server.settle()
    drain(account)
    failed = accountant_task(sandbox, "Автоматическая выплата")
    assert len(failed) == 1
    assert failed[0].responsible_user_id == ACCOUNTANT_USER_ID
    assert "30\u00a0000,00\u00a0₽" in failed[0].text
    assert Payment.objects.filter(deal__external_id=LEAD).count() == 0
    billing_run()  # a canceled payout waits for the accountant: the tick does not resend it
    assert len(posts(server)) == 1

    server.set_faults(payout_outcome="succeeded")
    response = widget.post(f"/api/v1/deals/{LEAD}/payouts/{payout.pk}/approve", {})
    assert response.json()["payouts"][0]["state"] == "paid"
    assert [call["headers"]["Idempotence-Key"] for call in posts(server)] == [
        f"po:{account.pk}:{payout.pk}:0", f"po:{account.pk}:{payout.pk}:1"]
    assert Payment.objects.filter(deal__external_id=LEAD).count() == 1


def test_a_pending_payout_is_recorded_by_its_notification_once_under_20_copies(payouts, sandbox, frozen_clock):
    account, server = payouts
    widget, payout = due_payout(account, frozen_clock)
    server.set_faults(payout_outcome="pending")
    widget.post(f"/api/v1/deals/{LEAD}/payouts/{payout.pk}/approve", {})
    payout.refresh_from_db()
    assert payout.gateway_status == "pending"
    billing_run()  # pending: polled, not sent again
    assert len(posts(server)) == 1
    assert Payment.objects.filter(deal__external_id=LEAD).count() == 0

    server.set_faults(notify_copies=20)
    result = server.settle_payout(payout.gateway_payout_id)
    assert len(result["deliveries"]) == 20
    assert all(delivery["accepted"] for delivery in result["deliveries"])
    payout.refresh_from_db()
    assert payout.state == Payout.State.PAID
    assert Payment.objects.filter(deal__external_id=LEAD).count() == 1


def test_a_forged_payout_notification_changes_nothing(payouts, sandbox, frozen_clock):
    account, server = payouts
    widget, payout = due_payout(account, frozen_clock)
    server.set_faults(payout_outcome="pending")
    widget.post(f"/api/v1/deals/{LEAD}/payouts/{payout.pk}/approve", {})
    payout.refresh_from_db()
    forged = server.notification_body("payout.succeeded", {**server.payouts[payout.gateway_payout_id],
                                                           "status": "succeeded"})
    response = WidgetClient(account).client.post(f"/webhooks/yookassa/{account.webhook_key}", forged,
                                                 content_type="application/json", REMOTE_ADDR="127.0.0.1")
    assert response.status_code in (200, 400, 403)
    payout.refresh_from_db()
    assert payout.state == Payout.State.DUE
    assert Payment.objects.filter(deal__external_id=LEAD).count() == 0


def test_the_demo_has_a_payout_gateway_and_the_outgoing_claim_pays_by_sbp_after_approval(db):
    from billing.demo import demo_account_load
    from billing.models import PayoutDestination

    account, _ = demo_account_load()
    demo_account_load()  # loading twice changes nothing
    assert account.yookassa_payouts_connected
    destination = PayoutDestination.objects.get(deal__account=account, deal__external_id=17654)
    assert (destination.kind, destination.auto) == ("sbp", True)
