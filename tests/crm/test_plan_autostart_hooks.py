"""[J] A manager moves a deal in the CRM sandbox: the sandbox's own status webhook reaches our hook, the lead is
read from the API, and billing's stage rules build the plan from the template (a lead PayPlan never saw too),
note why not when the deal already has a plan, and move a deal back from a stage closed until its first payment."""
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from billing.models import Account, Deal, Schedule
from billing.services.accounts import account_settings_update
from sandboxes.amocrm.models import Webhook
from sandboxes.amocrm.seed import (
    DEMO_ACCOUNT_ID,
    MAIN_PIPELINE_ID,
    STATUS_CONTRACT_SENT,
    STATUS_PAYING,
    STATUS_PLAN_SIGNED,
)
from tests.crm.conftest import drain, install, notes_of

pytestmark = pytest.mark.django_db
RULES = {"enabled": True, "stage": {"pipeline_id": MAIN_PIPELINE_ID, "status_id": STATUS_PLAN_SIGNED},
         "template": {"plan": "annuity", "total": {"source": "amount"}, "installments_count": 6, "period": "month",
                      "due_day": 10, "annual_rate": "12",
                      "fees": [{"label": "Госпошлина", "amount": "4000"}]},
         "gate": {"enabled": True, "status_ids": [STATUS_PAYING]}}


@pytest.fixture
def wired(db, sandbox, monkeypatch):
    """The demo account installed, its lead hooks subscribed at a loopback address (the sandbox takes no
    other), and the sandbox's webhook bodies handed to our hook view in-process instead of over HTTP."""
    assert install(sandbox).status_code == 200
    account = Account.objects.get(crm_account_id=DEMO_ACCOUNT_ID)
    crm = sandbox.account()
    hook_settings = ["add_lead", "status_lead", "update_lead"]
    crm.webhooks[crm.next_id("webhook")] = Webhook(crm.next_id("webhook"), f"http://127.0.0.1:8321/amocrm/webhooks/"
                                                   f"{account.webhook_key}", hook_settings, 10,
                                                   crm.first_admin_id, sandbox.now())
    account_settings_update(account=account, settings={"plan_autostart": RULES})
    posted = []

    def emit(bodies: dict[str, str]) -> None:
        for destination, body in bodies.items():
            response = APIClient().post(urlsplit(destination).path, body,
                                        content_type="application/x-www-form-urlencoded")
            posted.append(response.status_code)

    monkeypatch.setattr(sandbox.emitter, "emit", emit)
    account.posted = posted
    return account


def move(sandbox, account, lead_id: int, status_id: int) -> None:
    sandbox.set_lead_status(lead_id, status_id, MAIN_PIPELINE_ID)
    assert account.posted[-1] == 200
    drain(account)  # the fetch: the lead read, the stage rules run
    drain(account)  # their notes and moves go out


def test_moving_a_lead_payplan_never_saw_into_the_trigger_stage_builds_its_plan(wired, sandbox):
    assert not Deal.objects.filter(external_id=17655).exists()

    move(sandbox, wired, 17655, STATUS_PLAN_SIGNED)

    schedule = Schedule.objects.get(deal__external_id=17655, is_active=True)
    assert schedule.plan == "annuity"
    assert schedule.request["change"] == "autostart"
    assert schedule.installments.filter(kind="extra", label="Госпошлина").exists()
    assert any(text.startswith("График построен по шаблону") for text in notes_of(sandbox, 17655))

    # Back and into the trigger stage again: the plan stays, a note says why.
    move(sandbox, wired, 17655, STATUS_CONTRACT_SENT)
    move(sandbox, wired, 17655, STATUS_PLAN_SIGNED)
    assert Schedule.objects.filter(deal__external_id=17655).count() == 1
    assert any("уже есть график" in text for text in notes_of(sandbox, 17655))


def test_a_lead_made_straight_in_the_trigger_stage_builds_its_plan_exactly_once(wired, sandbox):
    from tests.crm.test_hooks import hook

    lead = sandbox.create_lead("Новый клиент — курс", status_id=STATUS_PLAN_SIGNED, pipeline_id=MAIN_PIPELINE_ID,
                               price=120000)
    assert wired.posted[-1] == 200  # the add hook (amoCRM sends no status hook for a new lead)
    drain(wired)
    drain(wired)

    schedule = Schedule.objects.get(deal__external_id=lead.id, is_active=True)
    assert schedule.request["change"] == "autostart"
    notes = notes_of(sandbox, lead.id)
    assert [text for text in notes if text.startswith("График построен по шаблону")], notes

    # The add hook again (amoCRM repeats a hook it thinks was lost), then the lead edited in the same stage:
    # the stage PayPlan saw has not changed, so no second plan and no «already has a plan» note.
    add_again = [("leads[add][0][id]", lead.id), ("leads[add][0][status_id]", STATUS_PLAN_SIGNED),
                 ("leads[add][0][pipeline_id]", MAIN_PIPELINE_ID), ("account[id]", DEMO_ACCOUNT_ID)]
    assert hook(wired, add_again).status_code == 200
    drain(wired)
    sandbox.set_lead_status(lead.id, STATUS_PLAN_SIGNED, MAIN_PIPELINE_ID)  # an edit: the update hook only
    assert wired.posted[-1] == 200
    drain(wired)
    drain(wired)
    assert Schedule.objects.filter(deal__external_id=lead.id).count() == 1
    assert notes_of(sandbox, lead.id) == notes


def test_a_lead_made_in_a_stage_no_rule_watches_makes_no_deal(wired, sandbox):
    lead = sandbox.create_lead("Просто заявка", status_id=STATUS_CONTRACT_SENT, pipeline_id=MAIN_PIPELINE_ID,
                               price=50000)
    assert wired.posted[-1] == 200
    drain(wired)
    assert not Deal.objects.filter(external_id=lead.id).exists()


def test_a_deal_moved_past_the_gate_without_a_first_payment_is_moved_back_with_a_note(wired, sandbox):
    move(sandbox, wired, 17655, STATUS_PLAN_SIGNED)

    move(sandbox, wired, 17655, STATUS_PAYING)

    lead = sandbox.account().leads[17655]
    assert (lead.status_id, lead.pipeline_id) == (STATUS_PLAN_SIGNED, MAIN_PIPELINE_ID)
    assert any("открывается после первого платежа" in text for text in notes_of(sandbox, 17655))
    # The move back made the sandbox call our hook once more: nothing new happens on that echo.
    drain(wired)
    assert sum("уже есть график" in text for text in notes_of(sandbox, 17655)) == 0


def test_a_template_reading_a_deal_field_the_crm_does_not_have_is_a_422_naming_it(installed):
    from sandboxes.amocrm.seed import FIELD_TOTAL
    from tests.autostart.test_plan_autostart import AdminClient
    from tests.conftest import assert_error

    admin = AdminClient(installed)
    template = {**RULES["template"], "total": {"source": "field", "field_id": 999999}}
    error = assert_error(admin.patch("/api/v1/account/settings", {"plan_autostart": {**RULES, "template": template}}),
                         422, field="plan_autostart.template.total.field_id")
    assert "999999" in error["message"]
    assert "Сумма в шаблоне" in error["message"]
    template["total"]["field_id"] = FIELD_TOTAL
    response = admin.patch("/api/v1/account/settings", {"plan_autostart": {**RULES, "template": template}})
    assert response.status_code == 200, response.content


def test_a_status_hook_after_an_update_hook_marks_the_one_waiting_fetch_as_a_stage_move(installed):
    from crm.models import CrmAction
    from tests.crm.test_hooks import hook, lead_pairs

    Deal.objects.create(account=installed, external_id=17652)
    for section in ("update", "status", "update"):
        assert hook(installed, lead_pairs(section, 17652)).status_code == 200
    waiting = CrmAction.objects.get(kind="fetch_lead", state="pending")
    assert waiting.payload == {"deleted": False, "stage_moved": True}
    # A status hook naming a stage no rule watches makes no deal for a lead PayPlan never saw.
    hook(installed, lead_pairs("status", 17653))
    assert not Deal.objects.filter(external_id=17653).exists()
