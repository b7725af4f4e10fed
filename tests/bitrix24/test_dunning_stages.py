"""A Bitrix24 account maps its debtors' aging buckets (and the end-of-ladder decisions) to its own stages, named
as Bitrix24 names them (`C1:NEW`, `WON`): the settings API keeps the codes, refuses anything else in Russian,
and the dunning tick moves the portal's deal there (`crm.deal.update` with STAGE_ID) through the outbox."""
from datetime import date

import pytest
import time_machine
from rest_framework.test import APIClient

from billing.dunning.services import dunning_policy_set
from billing.services.relay import events_relay_run
from crm.bitrix24.frame import FrameAuth
from crm.bitrix24.widget_token import frame_token_mint
from crm.models import CrmAction
from tests.bitrix24.conftest import rest_calls
from tests.dunning.conftest import at, make_deal, tick

pytestmark = pytest.mark.django_db(transaction=True)

DEAL_ID = 8061  # the sandbox's deal in pipeline 1 («Юридические услуги»), stage C1:UC_PAYING
STAGES = {"overdue_1_30": {"status_id": "C1:NEW", "pipeline_id": 1},
          "lawyer": {"status_id": "C1:LOSE", "pipeline_id": 1},
          "overdue_over_180": {"status_id": "EXECUTING", "pipeline_id": 0}}


def _api(portal, *, is_admin: bool = True) -> APIClient:
    client = APIClient()
    token = frame_token_mint(auth=FrameAuth(portal, "DEFAULT", None, "user-access", "ru", 1, is_admin))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_the_settings_api_keeps_the_portals_stage_codes(direct_portal):
    api = _api(direct_portal)
    answer = api.patch("/api/v1/account/dunning", {"stages": STAGES, "cutoff_hour": 17}, format="json")

    assert answer.status_code == 200, answer.content
    assert answer.json()["policy"]["stages"] == STAGES
    read = api.get("/api/v1/account/dunning").json()["policy"]
    assert (read["stages"], read["cutoff_hour"]) == (STAGES, 17)
    # Another change keeps the stored codes (the whole policy is checked again on every save).
    assert api.patch("/api/v1/account/dunning", {"cutoff_hour": 16}, format="json").json()["policy"]["stages"] == STAGES


@pytest.mark.parametrize(("stage", "message"), [
    ({"status_id": 142, "pipeline_id": 1}, "В этой CRM этап задаётся кодом, например «C1:NEW» или «WON»: "
                                           "выберите этап из списка."),
    ({"status_id": "C1:NEW<script>"}, "В этой CRM этап задаётся кодом, например «C1:NEW» или «WON»: "
                                      "выберите этап из списка."),
    ({"status_id": "C1:NEW", "pipeline_id": 0}, "Этот этап относится к другой воронке."),
])
def test_the_settings_api_refuses_what_is_no_stage_code_in_russian(direct_portal, stage, message):
    api = _api(direct_portal)
    answer = api.patch("/api/v1/account/dunning", {"stages": {"overdue_31_90": stage}}, format="json")

    assert answer.status_code == 422, answer.content
    body = answer.json()
    assert body["error"]["code"] == "invalid_ladder", body
    assert body["error"]["fields"] == {"stages.overdue_31_90.status_id": [message]}
    assert api.get("/api/v1/account/dunning").json()["custom"] is False  # nothing stored


def test_an_overdue_deal_moves_to_the_mapped_stage_code_in_the_portal(direct_portal, sandbox):
    account = direct_portal.account
    dunning_policy_set(account=account, config={"steps": [{"day": 30, "channel": "note"}], "stages": STAGES},
                       stage_ids="code")
    deal = make_deal(account, lead_id=DEAL_ID, first=date(2026, 12, 5))
    assert sandbox.snapshot()["deals"][str(DEAL_ID)]["STAGE_ID"] == "C1:UC_PAYING"

    with time_machine.travel(at(account, "2026-12-08 10:00"), tick=False):
        assert tick(at(account, "2026-12-08 10:00"))  # three days overdue: «1–30 days overdue»
        events_relay_run()

    move = CrmAction.objects.get(deal=deal, kind="update_lead")
    assert move.payload == {"status_id": "C1:NEW", "pipeline_id": 1}
    assert move.state == "done", move.last_error
    assert sandbox.snapshot()["deals"][str(DEAL_ID)]["STAGE_ID"] == "C1:NEW"
    assert [call for call in rest_calls(sandbox) if call["method"] in ("batch", "crm.deal.update")]
