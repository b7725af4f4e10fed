"""A payout plan runs itself over real PostgreSQL/Redis and the amoCRM sandbox: on each tranche's date the
accountant gets a task with amount, recipient and requisites; completing it in amoCRM records the payout
once; the deal keeps one summary note edited in place; after the last tranche the claims specialist gets
the close task; a late payout alerts; ticks and polls run twice change nothing."""
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from billing.models import Deal, Payment, Payout
from billing.services.accounts import account_settings_patch
from billing.services.billing_run import billing_run
from crm.amocrm.payout_tasks import payout_tasks_poll
from sandboxes.amocrm.seed import ACCOUNTANT_USER_ID, LAWYER_USER_ID
from tests.conftest import WidgetClient
from tests.crm.conftest import calls, drain
from widget_api.tokens import token_mint

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
LEAD = 17654
PLAN = {"plan": "equal", "total": "90000.00", "installments_count": 3, "first_due_date": "2026-12-31",
        "due_day": "last", "direction": "outgoing", "requisites": "р/с 40702810900000012345, БИК 044525225"}
DATES = ["2026-12-31", "2027-01-31", "2027-02-28"]


def tick(account):
    """The billing tick, twice (a doubled beat), then the relay and the CRM outbox."""
    billing_run()
    billing_run()
    drain(account)


def poll(account):
    """The completion poll, twice (a doubled beat), then the relay and the CRM outbox."""
    payout_tasks_poll(account=account)
    payout_tasks_poll(account=account)
    drain(account)


def tasks(sandbox, lead_id=LEAD):
    return [task for _, task in sorted(sandbox.account().tasks.items()) if task.entity_id == lead_id]


def summary_notes(sandbox, lead_id=LEAD):
    return [note for _, note in sorted(sandbox.account().notes.items())
            if note.entity_id == lead_id and note.params.get("text", "").startswith("Выплаты по сделке")]


@pytest.fixture
def builder(installed):
    return account_settings_patch(account=installed, changes={"roles": {
        "accountant_user_id": ACCOUNTANT_USER_ID, "claims_specialist_user_id": LAWYER_USER_ID}})


def test_a_payout_plan_walked_through_its_dates_ends_with_the_close_task(builder, sandbox, frozen_clock):
    widget = WidgetClient(builder)
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", PLAN).status_code == 200
    drain(builder)
    tick(builder)
    assert tasks(sandbox) == []  # nothing is due before the first date
    assert len(summary_notes(sandbox)) == 1

    for number, day in enumerate(DATES, start=1):
        frozen_clock.move_to(datetime.fromisoformat(f"{day}T09:00:00").replace(tzinfo=UTC))
        tick(builder)
        payout_tasks = [task for task in tasks(sandbox) if task.text.startswith("Сделайте выплату")]
        assert len(payout_tasks) == number, [task.text for task in tasks(sandbox)]
        task = payout_tasks[-1]
        assert task.responsible_user_id == ACCOUNTANT_USER_ID
        assert "30\u00a0000,00\u00a0₽" in task.text
        assert f"№ {number}" in task.text
        assert "40702810900000012345" in task.text
        assert datetime.fromtimestamp(task.complete_till, UTC).date().isoformat() == day  # 23:59 Moscow
        poll(builder)
        assert Payment.objects.filter(deal__external_id=LEAD).count() == number - 1  # not completed yet

        sandbox.complete_task(task.id, user_id=ACCOUNTANT_USER_ID, result="Отправлено")
        poll(builder)
        tick(builder)
        assert Payment.objects.filter(deal__external_id=LEAD).count() == number
        notes = summary_notes(sandbox)
        assert len(notes) == 1  # one running summary, edited in place
        assert f"({number} из 3)" in notes[0].params["text"]

    deal = Deal.objects.get(account=builder, external_id=LEAD)
    assert (deal.status, deal.paid, deal.debt) == ("paid", Decimal("90000.00"), Decimal("0.00"))
    assert set(Payout.objects.filter(deal=deal).values_list("state", flat=True)) == {"paid"}
    close = [task for task in tasks(sandbox) if task.text.startswith("Все выплаты по сделке сделаны")]
    assert len(close) == 1
    assert close[0].responsible_user_id == LAWYER_USER_ID
    assert "осталось выплатить 0,00\u00a0₽" in summary_notes(sandbox)[0].params["text"]
    assert "(3 из 3)" in summary_notes(sandbox)[0].params["text"]
    assert calls(sandbox, "PATCH", "/api/v4/leads/notes")  # edited, not added

    # A week later, ticks and polls again: nothing new anywhere.
    frozen_clock.move_to(datetime(2027, 3, 7, 9, 0, tzinfo=UTC))
    before = (len(tasks(sandbox)), len(sandbox.account().notes), Payment.objects.count())
    tick(builder)
    poll(builder)
    assert (len(tasks(sandbox)), len(sandbox.account().notes), Payment.objects.count()) == before


def test_a_payout_not_made_by_its_date_alerts_once_and_a_task_completed_late_still_records_once(
        builder, sandbox, frozen_clock):
    widget = WidgetClient(builder)
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", PLAN).status_code == 200
    frozen_clock.move_to(datetime(2026, 12, 31, 9, 0, tzinfo=UTC))
    tick(builder)
    frozen_clock.move_to(datetime(2027, 1, 3, 9, 0, tzinfo=UTC))
    tick(builder)
    tick(builder)
    alerts = [task for task in tasks(sandbox) if task.text.startswith("Просрочена выплата")]
    assert len(alerts) == 1
    assert alerts[0].responsible_user_id == ACCOUNTANT_USER_ID
    assert "дней просрочки: 3" in alerts[0].text
    assert any(note.params.get("text", "").startswith("Просрочка: Просрочена выплата")
               for note in sandbox.account().notes.values())

    payout_task = next(task for task in tasks(sandbox) if task.text.startswith("Сделайте выплату"))
    sandbox.complete_task(payout_task.id, user_id=ACCOUNTANT_USER_ID)
    poll(builder)
    sandbox.complete_task(payout_task.id, user_id=ACCOUNTANT_USER_ID)  # ticked again: still one payout
    poll(builder)
    payments = Payment.objects.filter(deal__external_id=LEAD)
    assert [(payment.amount, payment.recorded_by) for payment in payments] == [
        (Decimal("30000.00"), ACCOUNTANT_USER_ID)]


def test_a_tranche_paid_by_hand_before_its_date_gets_no_task(builder, sandbox, frozen_clock):
    widget = WidgetClient(builder)
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", PLAN).status_code == 200
    assert widget.post(f"/api/v1/deals/{LEAD}/payments", {"amount": "30000.00", "method": "bank_transfer",
                                                          "paid_at": "2026-11-27"}).status_code == 201
    frozen_clock.move_to(datetime(2026, 12, 31, 9, 0, tzinfo=UTC))
    tick(builder)
    assert [task.text for task in tasks(sandbox) if task.text.startswith("Сделайте выплату")] == []
    frozen_clock.move_to(datetime(2027, 1, 31, 9, 0, tzinfo=UTC))
    tick(builder)
    assert len([task for task in tasks(sandbox) if task.text.startswith("Сделайте выплату")]) == 1


def test_payout_roles_are_account_settings(builder):
    widget = WidgetClient(builder)
    body = widget.get("/api/v1/account/settings").json()
    assert body["roles"] == {"accountant_user_id": ACCOUNTANT_USER_ID, "claims_specialist_user_id": LAWYER_USER_ID}
    admin = {"HTTP_X_AUTH_TOKEN": token_mint(account_id=builder.crm_account_id, subdomain=builder.slug,
                                             user_id=8765432, is_admin=True)}
    response = APIClient().patch("/api/v1/account/settings", {"roles": {"accountant_user_id": 0}}, format="json",
                                 **admin)
    assert response.status_code == 422, response.content
    response = APIClient().patch("/api/v1/account/settings", {"roles": {"claims_specialist_user_id": None}},
                                 format="json", **admin)
    assert response.json()["roles"] == {"accountant_user_id": ACCOUNTANT_USER_ID, "claims_specialist_user_id": None}


def test_a_plan_rebuilt_after_a_task_went_out_does_not_send_the_same_tranche_again(builder, sandbox, frozen_clock):
    widget = WidgetClient(builder)
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", PLAN).status_code == 200
    frozen_clock.move_to(datetime(2026, 12, 31, 9, 0, tzinfo=UTC))
    tick(builder)
    rebuilt = {**PLAN, "requisites": "р/с 40702810900000099999"}
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", rebuilt).status_code == 200
    tick(builder)
    assert len([task for task in tasks(sandbox) if task.text.startswith("Сделайте выплату")]) == 1
    assert Payout.objects.filter(deal__external_id=LEAD).count() == 1
