"""ONCRMDEALUPDATE / ONCRMDEALDELETE over real HTTP from the sandbox, verified by the application token:
the deal's data is read again from Bitrix24; a deletion Bitrix24 confirms cancels the plan and its links and
keeps every payment; a wrong token changes nothing. The accountant's payout task completed in Bitrix24
records the payout through billing's payout_complete, once."""
from datetime import UTC, datetime

import pytest

from billing.models import Deal, Payment, Payout
from billing.services.accounts import account_settings_patch
from billing.services.billing_run import billing_run
from crm.bitrix24.models import Portal
from crm.bitrix24.payout_tasks import payout_tasks_poll
from crm.models import CrmAction
from sandboxes.bitrix24 import DEFAULT_MEMBER_ID
from tests.bitrix24.test_full_loop import DealTab

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

ACCOUNTANT = 9


def account_of(portal):
    return Portal.objects.select_related("account").get(pk=portal.pk).account


def test_an_update_event_reads_the_deal_again(portal, sandbox, app_url):
    tab = DealTab(sandbox, app_url, 8062)
    assert tab.call("GET", "").status_code == 200
    deal = Deal.objects.get(account=account_of(portal), external_id=8062)
    assert deal.name == "Сопровождение сделки: Петров"

    sandbox.control("POST", "deals/8062", {}, {"fields": {"TITLE": "Сопровождение сделки: Петров О. И."}})
    assert {d["status"] for d in sandbox.flush_events()} == {200}

    deal.refresh_from_db()
    assert deal.name == "Сопровождение сделки: Петров О. И."
    assert CrmAction.objects.filter(deal=deal, kind="fetch_lead", source="bitrix24_event:updated",
                                    state="done").exists()


def test_a_deleted_deal_is_cancelled_and_its_payments_stay(portal, sandbox, app_url):
    tab = DealTab(sandbox, app_url, 8061)
    plan = {"plan": "equal", "total": "30000.00", "installments_count": 3, "first_due_date": "2026-12-05"}
    assert tab.call("PUT", "/schedule", plan).status_code == 200
    paid = tab.call("POST", "/payments", {"amount": "10000.00", "method": "cash", "paid_at": "2026-11-27"})
    assert paid.status_code == 201, paid.content

    sandbox.control("POST", "deals/8061/delete", {}, {})
    assert {d["status"] for d in sandbox.flush_events()} == {200}

    deal = Deal.objects.get(account=account_of(portal), external_id=8061)
    assert deal.cancelled_at is not None
    assert deal.status == "cancelled"
    assert list(Payment.objects.filter(deal=deal).values_list("amount", flat=True)) == [10000]


def test_an_event_with_a_wrong_token_reads_nothing(portal, sandbox, app_url):
    tab = DealTab(sandbox, app_url, 8062)
    assert tab.call("GET", "").status_code == 200
    sandbox.event_switches["wrong_token"] = True
    sandbox.control("POST", "deals/8062", {}, {"fields": {"TITLE": "Подмена"}})

    assert {d["status"] for d in sandbox.flush_events()} == {403}
    deal = Deal.objects.get(account=account_of(portal), external_id=8062)
    assert deal.name == "Сопровождение сделки: Петров"
    assert not CrmAction.objects.filter(deal=deal, source__startswith="bitrix24_event").exists()


def test_the_accountants_completed_task_records_the_payout_once(portal, sandbox, app_url, frozen_clock):
    account = account_settings_patch(account=account_of(portal), changes={"roles": {
        "accountant_user_id": ACCOUNTANT, "claims_specialist_user_id": 1}})
    tab = DealTab(sandbox, app_url, 8062)
    plan = {"plan": "equal", "total": "60000.00", "installments_count": 2, "first_due_date": "2026-12-31",
            "due_day": "last", "direction": "outgoing", "requisites": "р/с 40702810900000012345"}
    assert tab.call("PUT", "/schedule", plan).status_code == 200, "plan"

    frozen_clock.move_to(datetime(2026, 12, 31, 9, 0, tzinfo=UTC))
    billing_run()
    task_action = CrmAction.objects.get(account=account, kind="create_task", source="payout_due")
    assert task_action.state == "done", task_action.last_error
    task = next(row for row in sandbox.snapshot()["tasks"] if row["id"] == str(task_action.crm_entity_id))
    assert str(task["responsibleId"]) == str(ACCOUNTANT)
    assert payout_tasks_poll(account=account).recorded == 0  # not completed yet

    sandbox.control("POST", f"tasks/{task['id']}/complete", {}, {"user_id": ACCOUNTANT})
    assert payout_tasks_poll(account=account).recorded == 1
    assert payout_tasks_poll(account=account).recorded == 0  # a second poll records nothing

    deal = Deal.objects.get(account=account, external_id=8062)
    assert Payment.objects.filter(deal=deal).count() == 1
    assert list(Payout.objects.filter(deal=deal).values_list("state", flat=True)) == ["paid"]
    assert sandbox.snapshot()["member_id"] == DEFAULT_MEMBER_ID
