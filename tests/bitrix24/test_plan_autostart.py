"""[J] Plans that start themselves on a Bitrix24 portal, over real HTTP from the sandbox: the plan rules name
the portal's stages by code (`C1:UC_PAYING`); a deal made straight in the trigger stage (ONCRMDEALADD) gets its
plan from the template exactly once, whatever events follow in that stage; a deal made elsewhere is remembered
in its stage, and its later move into the trigger stage (ONCRMDEALUPDATE) builds the plan."""
import pytest
from rest_framework.test import APIClient

from billing.models import Deal, DealStage, Schedule
from crm.bitrix24.frame import FrameAuth
from crm.bitrix24.models import Portal
from crm.bitrix24.widget_token import frame_token_mint
from tests.bitrix24.test_full_loop import comments_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

TRIGGER = "C1:UC_PAYING"
RULES = {"enabled": True, "stage": {"pipeline_id": 1, "status_id": TRIGGER},
         "template": {"plan": "equal", "total": {"source": "amount"}, "installments_count": 6, "period": "month"}}
BUILT = "График построен по шаблону"


def _api(portal) -> APIClient:
    client = APIClient()
    token = frame_token_mint(auth=FrameAuth(portal, "DEFAULT", None, "user-access", "ru", 1, True))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def rules(portal):
    answer = _api(portal).patch("/api/v1/account/settings", {"plan_autostart": RULES}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["plan_autostart"]["stage"] == {"pipeline_id": 1, "status_id": TRIGGER}
    return Portal.objects.select_related("account").get(pk=portal.pk).account


def deal_add(sandbox, stage: str) -> int:
    made = sandbox.control("POST", "deals", {}, {"fields": {"TITLE": "Банкротство: Орлова", "CATEGORY_ID": "1",
                                                            "STAGE_ID": stage, "OPPORTUNITY": "120000.00"}})
    assert made.status == 200, made.body
    assert {d["status"] for d in sandbox.flush_events()} == {200}
    return int(made.body["id"])


def test_a_deal_made_straight_in_the_trigger_stage_builds_its_plan_exactly_once(rules, sandbox):
    deal_id = deal_add(sandbox, TRIGGER)

    schedule = Schedule.objects.get(deal__account=rules, deal__external_id=deal_id, is_active=True)
    assert schedule.request["change"] == "autostart"
    assert schedule.installments.count() == 6
    comments = comments_of(sandbox, deal_id)
    assert [text for text in comments if text.startswith(BUILT)], comments

    # The add event again (events are at-most-once, but a portal may repeat one), then an edit in the same
    # stage: the stage PayPlan saw has not changed, so no second plan and no «already has a plan» comment.
    sandbox.emit(sandbox.portal(), "ONCRMDEALADD", deal_id, 7)
    sandbox.control("POST", f"deals/{deal_id}", {}, {"fields": {"TITLE": "Банкротство: Орлова А. В."}})
    assert {d["status"] for d in sandbox.flush_events()} == {200}
    assert Schedule.objects.filter(deal__account=rules, deal__external_id=deal_id).count() == 1
    assert comments_of(sandbox, deal_id) == comments


def test_a_deal_made_elsewhere_is_remembered_and_its_move_into_the_trigger_stage_builds_the_plan(rules, sandbox):
    deal_id = deal_add(sandbox, "C1:NEW")
    deal = Deal.objects.get(account=rules, external_id=deal_id)
    assert (DealStage.objects.get(deal=deal).stage_id, deal.schedules.count()) == ("C1:NEW", 0)

    sandbox.control("POST", f"deals/{deal_id}", {}, {"fields": {"STAGE_ID": TRIGGER}})
    assert {d["status"] for d in sandbox.flush_events()} == {200}

    assert Schedule.objects.get(deal=deal, is_active=True).request["change"] == "autostart"
    assert DealStage.objects.get(deal=deal).stage_id == TRIGGER


def test_without_plan_rules_a_new_deal_is_not_made_in_payplan(portal, sandbox):
    deal_id = deal_add(sandbox, TRIGGER)
    assert not Deal.objects.filter(external_id=deal_id).exists()


@pytest.mark.parametrize(("stage", "message"), [
    ({"pipeline_id": 1, "status_id": 142},
     "В этой CRM этап задаётся кодом, например «C1:NEW» или «WON»: выберите этап из списка."),
    ({"pipeline_id": 0, "status_id": TRIGGER}, "Этот этап относится к другой воронке."),
])
def test_the_plan_rules_refuse_what_is_no_stage_code_of_the_portal(portal, stage, message):
    answer = _api(portal).patch("/api/v1/account/settings", {"plan_autostart": {**RULES, "stage": stage}},
                                format="json")
    assert answer.status_code == 422, answer.content
    assert answer.json()["error"]["fields"]["plan_autostart.stage.status_id"] == [message]
