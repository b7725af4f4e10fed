"""A Bitrix24 account's settings page and analytics read the portal through the CRM port, never amoCRM:
pipelines (deal categories) with their stages, the portal's users, PayPlan's deal user fields, the users'
names; the settings' CRM status is the portal's install state."""
import pytest
from rest_framework.test import APIClient

from crm.bitrix24.frame import FrameAuth
from crm.bitrix24.widget_token import frame_token_mint
from crm.port import crm_user_names

pytestmark = pytest.mark.django_db(transaction=True)


def _api(portal, *, is_admin: bool = True) -> APIClient:
    client = APIClient()
    token = frame_token_mint(auth=FrameAuth(portal, "DEFAULT", None, "user-access", "ru", 1, is_admin))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_crm_options_come_from_the_portal(direct_portal, sandbox):
    answer = _api(direct_portal).get("/api/v1/account/crm-options")

    assert answer.status_code == 200, answer.content
    body = answer.json()
    pipelines = {row["id"]: row for row in body["pipelines"]}
    assert set(pipelines) == {0, 1}
    assert pipelines[0]["is_main"]
    assert [stage["id"] for stage in pipelines[1]["statuses"]] == ["C1:NEW", "C1:UC_PAYING", "C1:WON", "C1:LOSE"]
    assert {user["id"]: user["name"] for user in body["users"]}[7] == "Михаил Менеджеров"
    assert "UF_CRM_PAYPLAN_DEBT" in {field["code"] for field in body["lead_fields"]}
    methods = {entry.get("method") for entry in sandbox.journal.list() if entry.get("kind") == "rest"}
    assert "user.get" in methods or "batch" in methods
    assert "amoCRM" not in answer.content.decode()


def test_analytics_names_the_portals_users(direct_portal, sandbox):
    assert crm_user_names(account=direct_portal.account) == {1: "Анна Админова", 7: "Михаил Менеджеров",
                                                             9: "Ольга Бухгалтерова"}


def test_settings_show_the_portals_install_state_in_russian(direct_portal, sandbox):
    answer = _api(direct_portal, is_admin=False).get("/api/v1/account/settings")
    assert answer.status_code == 200, answer.content
    assert answer.json()["crm"]["status"] == "connected"

    refused = _api(direct_portal, is_admin=False).patch("/api/v1/account/settings", {"time_zone": "Europe/Moscow"},
                                                        format="json", HTTP_ACCEPT_LANGUAGE="ru")
    assert refused.status_code == 403
    text = refused.content.decode()
    assert "администратор CRM" in text
    assert "amoCRM" not in text
