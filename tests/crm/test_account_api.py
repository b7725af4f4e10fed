"""GET/PUT /api/v1/account/settings and GET /api/v1/account/crm-options: contract body, admins only
for writes, 422 naming the field, and one account never seeing or changing another's."""
import pytest

from billing.models import Account
from billing.services.receipts import receipt_settings
from tests.conftest import WidgetClient, assert_error
from tests.crm.conftest import CRM_FIELDS, make_sandbox

pytestmark = pytest.mark.django_db
SETTINGS = "/api/v1/account/settings"
OPTIONS = "/api/v1/account/crm-options"


class AdminClient(WidgetClient):
    def headers(self, idempotency_key=None):
        from widget_api.tokens import token_mint

        return {"HTTP_X_AUTH_TOKEN": token_mint(account_id=self.account.amocrm_account_id,
                                                subdomain=self.account.subdomain, user_id=self.user_id,
                                                is_admin=True)}


FULL = {
    "completed_stage": {"pipeline_id": 1113, "status_id": 142},
    "custom_fields": {**CRM_FIELDS, "group": None},
    "task_user_id": 8765433,
    "invoice_lead_days": 5,
    "time_zone": "Asia/Yekaterinburg",
    "requisites": {"company_name": "ООО Школа", "inn": "7701234567", "bik": "044525225",
                   "bank_account": "40702810900000000001", "email": "pay@school.example"},
    "reminders": [{"day": -3, "action": "client_email"}, {"day": 1, "action": "manager_task"}],
    "receipts": {"enabled": True, "inn": "7701234567", "taxation_system": 2, "vat": None},
}


def test_defaults_before_anything_is_set(account):
    body = WidgetClient(account).get(SETTINGS).json()

    assert body["completed_stage"] == {"pipeline_id": None, "status_id": 142}
    assert body["custom_fields"] == dict.fromkeys(CRM_FIELDS)
    assert (body["invoice_lead_days"], body["time_zone"], body["task_user_id"]) == (0, "Europe/Moscow", None)
    assert body["crm"]["status"] == "not_installed"


def test_an_admin_sets_everything_and_billing_reads_its_keys(account):
    response = AdminClient(account).put(SETTINGS, FULL)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["completed_stage"] == FULL["completed_stage"]
    assert body["custom_fields"]["total"] == 512341
    assert body["custom_fields"]["group"] is None
    assert body["requisites"]["inn"] == "7701234567"
    assert body["requisites"]["kpp"] == ""
    account.refresh_from_db()
    assert (account.completed_status_id, account.completed_pipeline_id, account.time_zone) == (
        142, 1113, "Asia/Yekaterinburg")
    assert account.settings["invoice_lead_days"] == 5
    receipts = receipt_settings(account)
    assert (receipts.enabled, receipts.inn, receipts.taxation_system, receipts.vat) == (True, "7701234567", 2, None)


def test_sections_not_sent_are_kept(account):
    admin = AdminClient(account)
    admin.put(SETTINGS, FULL)

    response = admin.put(SETTINGS, {"invoice_lead_days": 1})

    body = response.json()
    assert body["invoice_lead_days"] == 1
    assert body["receipts"]["enabled"] is True
    assert body["custom_fields"]["total"] == 512341
    assert body["time_zone"] == "Asia/Yekaterinburg"


def test_only_an_administrator_may_change_the_settings(account):
    response = WidgetClient(account).put(SETTINGS, {"invoice_lead_days": 9})

    assert_error(response, 403, "admin_required")
    account.refresh_from_db()
    assert "invoice_lead_days" not in account.settings


@pytest.mark.parametrize(("body", "field"), [
    ({"custom_fields": {"total": "abc"}}, "custom_fields.total"),
    ({"custom_fields": {"debt": 0}}, "custom_fields.debt"),
    ({"completed_stage": {"pipeline_id": 1113}}, "completed_stage.status_id"),
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
    ({"invoice_lead_days": -1}, "invoice_lead_days"),
    ({"requisites": {"inn": "12"}}, "requisites.inn"),
    ({"reminders": [{"day": 3, "action": "sms_the_neighbours"}]}, "reminders.0.action"),
    ({"receipts": {"vat": 18}}, "receipts.vat"),
    ({"task_user_id": True}, "task_user_id"),
])
def test_bad_input_is_a_422_naming_the_field_and_changes_nothing(account, body, field):
    response = AdminClient(account).put(SETTINGS, body)

    assert_error(response, 422, "validation_error", field)
    assert Account.objects.get(pk=account.pk).settings == {}


def test_malformed_json_is_a_400(account):
    assert_error(AdminClient(account).put(SETTINGS, "{not json"), 400, "malformed_json")


def test_one_account_never_sees_or_changes_anothers_settings(account, other_account):
    AdminClient(account).put(SETTINGS, FULL)
    AdminClient(other_account).put(SETTINGS, {"invoice_lead_days": 2, "time_zone": "Europe/Kaliningrad"})

    mine = WidgetClient(account).get(SETTINGS).json()
    theirs = WidgetClient(other_account).get(SETTINGS).json()

    assert (mine["invoice_lead_days"], mine["time_zone"]) == (5, "Asia/Yekaterinburg")
    assert (theirs["invoice_lead_days"], theirs["time_zone"]) == (2, "Europe/Kaliningrad")
    assert theirs["custom_fields"] == dict.fromkeys(CRM_FIELDS)
    assert theirs["requisites"]["inn"] == ""


def test_crm_options_list_pipelines_users_and_fields_with_a_suggested_mapping(installed):
    response = WidgetClient(installed).get(OPTIONS)

    assert response.status_code == 200, response.content
    body = response.json()
    main = next(pipeline for pipeline in body["pipelines"] if pipeline["id"] == 1113)
    assert main["is_main"]
    assert 142 in {status["id"] for status in main["statuses"]}
    assert {user["id"] for user in body["users"]} == {8765432, 8765433, 8765434}
    direction = next(field for field in body["lead_fields"] if field["id"] == 512348)
    assert direction["type"] == "select"
    assert len(direction["enums"]) == 4
    assert body["suggested_custom_fields"] == CRM_FIELDS
    assert body["warnings"] == []


def test_crm_options_of_an_account_that_is_not_installed_is_a_409(installed, other_account):
    assert_error(WidgetClient(other_account).get(OPTIONS), 409, "crm_not_connected")


def test_crm_options_when_amocrm_is_down_is_a_503(installed, sandbox):
    sandbox.faults.add({"next": 3, "status": 503})
    assert_error(WidgetClient(installed).get(OPTIONS), 503, "crm_unavailable")


def test_crm_options_of_a_non_admin_installation_lists_no_users(db, settings):
    from tests.crm.conftest import install

    sandbox = make_sandbox(settings)
    try:
        assert install(sandbox, code=sandbox.issue_code(user_id=8765433)).status_code == 200
        account = Account.objects.get(amocrm_account_id=31234567)
        body = WidgetClient(account).get(OPTIONS).json()
    finally:
        sandbox.stop()
    assert body["users"] == []
    assert body["warnings"]
    assert body["warnings"][0].startswith("users:")
    assert body["pipelines"]
