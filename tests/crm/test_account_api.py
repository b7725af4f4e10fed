"""GET/PATCH/PUT /api/v1/account/settings and GET /api/v1/account/crm-options: contract body, admins only
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

        return {"HTTP_X_AUTH_TOKEN": token_mint(account_id=self.account.crm_account_id,
                                                subdomain=self.account.slug, user_id=self.user_id,
                                                is_admin=True)}


REQUISITES = {"company_name": "ООО Школа", "inn": "7701234567", "kpp": "770101001", "ogrn": "1027700132195",
              "address": "Москва, ул. Ленина, 1", "bank_name": "ПАО Сбербанк", "bik": "044525225",
              "bank_account": "40702810900000000001", "correspondent_account": "30101810400000000225",
              "email": "pay@school.example", "phone": "+7 495 000-00-00", "director": "Иванов И. И.",
              "accountant": "Петрова П. П."}
FULL = {
    "completed_stage": {"pipeline_id": 1113, "status_id": 142},
    "custom_fields": {**CRM_FIELDS, "group": None},
    "task_user_id": 8765433,
    "invoice_lead_days": 5,
    "invoice_grace_days": 2,
    "client_service_name": {"source": "education_direction", "field_id": None, "default_text": "Оплата обучения"},
    "time_zone": "Asia/Yekaterinburg",
    "requisites": REQUISITES,
    "reminders": [{"day": -3, "action": "client_email"}, {"day": 1, "action": "manager_task"}],
    "receipts": {"enabled": True, "inn": "7701234567", "taxation_system": 2, "vat": None, "item_label": "Обучение",
                 "method": 4, "object": 4},
}
# What the API derives or keeps elsewhere: not part of a body the widget sends back.
READ_ONLY = ("crm", "cloudpayments", "requisites_missing")


def settings_of(account) -> dict:
    body = WidgetClient(account).get(SETTINGS).json()
    return {key: value for key, value in body.items() if key not in READ_ONLY}


def test_defaults_before_anything_is_set(account):
    body = WidgetClient(account).get(SETTINGS).json()

    assert body["completed_stage"] == {"pipeline_id": None, "status_id": 142}
    assert body["custom_fields"] == dict.fromkeys([*CRM_FIELDS, "next_payment_date"])
    assert (body["invoice_lead_days"], body["time_zone"], body["task_user_id"]) == (0, "Europe/Moscow", None)
    assert body["crm"]["status"] == "not_installed"


def test_an_admin_sets_everything_and_billing_reads_its_keys(account):
    response = AdminClient(account).put(SETTINGS, FULL)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["completed_stage"] == FULL["completed_stage"]
    assert body["custom_fields"]["total"] == 512341
    assert body["custom_fields"]["group"] is None
    assert body["requisites"] == REQUISITES
    account.refresh_from_db()
    assert (account.completed_status_id, account.completed_pipeline_id, account.time_zone) == (
        142, 1113, "Asia/Yekaterinburg")
    assert account.settings["invoice_lead_days"] == 5
    receipts = receipt_settings(account)
    assert (receipts.enabled, receipts.inn, receipts.taxation_system, receipts.vat) == (True, "7701234567", 2, None)


def test_a_patch_of_one_setting_changes_it_and_nothing_else(account):
    admin = AdminClient(account)
    admin.put(SETTINGS, FULL)
    before = settings_of(account)

    response = admin.patch(SETTINGS, {"invoice_lead_days": 1})

    assert response.status_code == 200, response.content
    assert settings_of(account) == {**before, "invoice_lead_days": 1}


@pytest.mark.parametrize(("change", "section"), [
    ({"requisites": {"director": "Сидоров С. С."}}, "requisites"),
    ({"receipts": {"vat": 20}}, "receipts"),
    ({"custom_fields": {"group": 512347}}, "custom_fields"),
    ({"completed_stage": {"status_id": 143}}, "completed_stage"),
])
def test_a_patch_of_one_nested_key_keeps_its_siblings(account, change, section):
    admin = AdminClient(account)
    admin.put(SETTINGS, FULL)
    before = settings_of(account)

    assert admin.patch(SETTINGS, change).status_code == 200

    after = settings_of(account)
    assert after[section] == {**before[section], **change[section]}
    assert {key: value for key, value in after.items() if key != section} == {
        key: value for key, value in before.items() if key != section}


def test_a_patched_reminder_ladder_replaces_the_old_one_whole(account):
    admin = AdminClient(account)
    admin.put(SETTINGS, FULL)

    admin.patch(SETTINGS, {"reminders": [{"day": 0, "action": "client_reminder"}]})

    assert settings_of(account)["reminders"] == [{"day": 0, "action": "client_reminder"}]


def test_settings_the_api_does_not_show_survive_a_patch_and_a_put(account):
    Account.objects.filter(pk=account.pk).update(settings={"kept_by_another_part": {"a": 1}})
    admin = AdminClient(account)

    admin.put(SETTINGS, FULL)
    admin.patch(SETTINGS, {"requisites": {"phone": "+7 900 000-00-00"}})

    assert Account.objects.get(pk=account.pk).settings["kept_by_another_part"] == {"a": 1}


@pytest.mark.parametrize(("body", "missing"), [
    ({"invoice_lead_days": 1}, "requisites"),
    ({key: value for key, value in FULL.items() if key != "receipts"}, "receipts"),
    ({**FULL, "requisites": {key: value for key, value in REQUISITES.items() if key != "director"}},
     "requisites.director"),
    ({**FULL, "completed_stage": {"status_id": 142}}, "completed_stage.pipeline_id"),
])
def test_a_put_without_a_complete_body_is_a_422_naming_what_is_missing_and_changes_nothing(account, body, missing):
    admin = AdminClient(account)
    admin.put(SETTINGS, FULL)
    before = settings_of(account)

    response = admin.put(SETTINGS, body)

    assert_error(response, 422, "settings_incomplete", missing)
    assert settings_of(account) == before


def test_the_complete_body_as_read_puts_back_unchanged(account):
    admin = AdminClient(account)
    admin.put(SETTINGS, FULL)
    before = settings_of(account)

    response = admin.put(SETTINGS, before)

    assert response.status_code == 200, response.content
    assert settings_of(account) == before


def test_an_incomplete_put_explains_itself_in_russian(account):
    admin = AdminClient(account)
    response = admin.client.put(SETTINGS, '{"invoice_lead_days": 2}', content_type="application/json",
                                HTTP_ACCEPT_LANGUAGE="ru", **admin.headers())

    error = response.json()["error"]
    assert "PATCH" in error["message"]
    assert "в запросе нет: Этап оплаченной сделки; Поля сделки" in error["message"]
    assert "Обязательно" in error["fields"]["requisites"][0]


@pytest.mark.parametrize("method", ["put", "patch"])
def test_only_an_administrator_may_change_the_settings(account, method):
    response = getattr(WidgetClient(account), method)(SETTINGS, {"invoice_lead_days": 9})

    assert_error(response, 403, "admin_required")
    account.refresh_from_db()
    assert "invoice_lead_days" not in account.settings


@pytest.mark.parametrize(("body", "field"), [
    ({"custom_fields": {"total": "abc"}}, "custom_fields.total"),
    ({"custom_fields": {"debt": 0}}, "custom_fields.debt"),
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
    ({"invoice_lead_days": -1}, "invoice_lead_days"),
    ({"requisites": {"inn": "12"}}, "requisites.inn"),
    ({"reminders": [{"day": 3, "action": "sms_the_neighbours"}]}, "reminders.0.action"),
    ({"reminders": [{"day": 3}]}, "reminders"),
    ({"receipts": {"vat": 18}}, "receipts.vat"),
    ({"task_user_id": True}, "task_user_id"),
])
def test_bad_input_is_a_422_naming_the_field_and_changes_nothing(account, body, field):
    response = AdminClient(account).patch(SETTINGS, body)

    assert_error(response, 422, "validation_error", field)
    assert Account.objects.get(pk=account.pk).settings == {}


def test_bad_input_in_russian_names_no_english_sentence(account):
    admin = AdminClient(account)
    response = admin.client.patch(SETTINGS, '{"requisites": {"inn": "12"}, "time_zone": "Mars/Base"}',
                                  content_type="application/json", HTTP_ACCEPT_LANGUAGE="ru", **admin.headers())

    fields = response.json()["error"]["fields"]
    assert "цифр" in fields["requisites.inn"][0]
    assert "часовой пояс" in fields["time_zone"][0]


def test_malformed_json_is_a_400(account):
    assert_error(AdminClient(account).patch(SETTINGS, "{not json"), 400, "malformed_json")


def test_one_account_never_sees_or_changes_anothers_settings(account, other_account):
    AdminClient(account).put(SETTINGS, FULL)
    AdminClient(other_account).patch(SETTINGS, {"invoice_lead_days": 2, "time_zone": "Europe/Kaliningrad"})

    mine = WidgetClient(account).get(SETTINGS).json()
    theirs = WidgetClient(other_account).get(SETTINGS).json()

    assert (mine["invoice_lead_days"], mine["time_zone"]) == (5, "Asia/Yekaterinburg")
    assert (theirs["invoice_lead_days"], theirs["time_zone"]) == (2, "Europe/Kaliningrad")
    assert theirs["custom_fields"] == dict.fromkeys([*CRM_FIELDS, "next_payment_date"])
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
    assert body["suggested_custom_fields"] == {**CRM_FIELDS, "next_payment_date": None}
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
        account = Account.objects.get(crm_account_id=31234567)
        body = WidgetClient(account).get(OPTIONS).json()
    finally:
        sandbox.stop()
    assert body["users"] == []
    assert body["warnings"]
    assert body["warnings"][0].startswith("users:")
    assert body["pipelines"]
