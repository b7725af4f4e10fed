"""billing.services.account_settings: the only writer of the account's settings. Every key checked by
billing, refusals in Russian naming the setting in words, all or nothing; settings for what does not run
are refused (422 setting_not_supported); the API answers the same through a thin view."""
import json
import re

import pytest
from django.utils import translation

from billing.dunning.services import dunning_policy_set
from billing.errors import ApplicationError
from billing.models import Account
from billing.services.account_settings import FIELD_LABELS, RULE_MESSAGES, account_settings_change
from billing.services.accounts import account_settings_update
from tests.conftest import assert_error
from tests.crm.test_account_api import FULL, REQUISITES, SETTINGS, AdminClient

pytestmark = pytest.mark.django_db
# A settings key as the JSON spells it (`requisites.inn`, `invoice_grace_days`): never part of a message.
KEY = re.compile(r"\b[a-z]+(?:[._][a-z0-9]+)+\b")


def refused(account, changes, *, replace=False) -> ApplicationError:
    with translation.override("ru"), pytest.raises(ApplicationError) as caught:
        account_settings_change(account=account, changes=changes, replace=replace)
    return caught.value


def stored(account) -> Account:
    return Account.objects.get(pk=account.pk)


def russian_patch(account, body: dict):
    admin = AdminClient(account)
    return admin.client.patch(SETTINGS, json.dumps(body), content_type="application/json",
                              HTTP_ACCEPT_LANGUAGE="ru", **admin.headers())


def test_every_label_and_rule_has_its_russian_wording():
    texts = [text for text in [*FIELD_LABELS.values(), *RULE_MESSAGES.values()] if str(text) != "CloudPayments"]
    with translation.override("en"):
        english = [str(text) for text in texts]
    with translation.override("ru"):
        untranslated = [source for source, text in zip(english, texts, strict=True) if str(text) == source]
    assert untranslated == []


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"requisites": {"inn": "12"}}, "requisites.inn", "ИНН организации"),
    ({"requisites": {"bik": "1"}}, "requisites.bik", "БИК банка"),
    ({"requisites": {"accountant": "x" * 501}}, "requisites.accountant", "Главный бухгалтер"),
    ({"invoice_grace_days": 90}, "invoice_grace_days", "Дней на оплату счёта по уже наступившему платежу"),
    ({"receipts": {"method": 9}}, "receipts.method", "Признак способа расчёта"),
    ({"reminders": [{"day": -90, "action": "client_email"}]}, "reminders.0.day", "День шага напоминаний № 1"),
    ({"client_service_name": {"source": "product"}}, "client_service_name.field_id",
     "Поле сделки с названием услуги"),
])
def test_a_bad_value_is_refused_in_russian_naming_the_setting_in_words_not_its_key(account, changes, field, words):
    before = stored(account).settings

    error = refused(account, changes)

    assert (error.code, error.status) == ("validation_error", 422)
    assert words in error.message
    assert not KEY.search(error.message), error.message
    assert list(error.fields) == [field]
    assert not [text for text in error.fields[field] if KEY.search(text)]
    assert stored(account).settings == before


def test_a_patch_merges_and_keeps_what_it_does_not_name(account):
    Account.objects.filter(pk=account.pk).update(settings={"kept_by_another_part": {"a": 1}})
    account_settings_change(account=account, changes=FULL, replace=True)

    account_settings_change(account=account, changes={"requisites": {"director": "Сидоров С. С."},
                                                      "receipts": {"vat": 20}})

    settings = stored(account).settings
    assert settings["requisites"] == {**REQUISITES, "director": "Сидоров С. С."}
    assert settings["receipts"] == {**FULL["receipts"], "vat": 20}
    assert settings["reminders"] == FULL["reminders"]
    assert settings["kept_by_another_part"] == {"a": 1}
    assert stored(account).time_zone == FULL["time_zone"]


def test_a_replacement_without_every_section_is_refused_and_changes_nothing(account):
    account_settings_change(account=account, changes=FULL, replace=True)
    before = stored(account).settings

    error = refused(account, {**FULL, "requisites": {key: value for key, value in REQUISITES.items()
                                                      if key != "accountant"}}, replace=True)

    assert error.code == "settings_incomplete"
    assert error.fields == {"requisites.accountant": ["Обязательно, когда настройки заменяются целиком."]}
    assert stored(account).settings == before


def test_a_refused_setting_leaves_the_terminal_keys_sent_with_it_unchanged(account):
    error = refused(account, {"cloudpayments": {"public_id": "pk_other", "api_secret": "another-secret-1"},
                              "receipts": {"taxation_system": 3}})

    assert error.code == "setting_not_supported"
    assert "ЕНВД" in error.message
    account = stored(account)
    assert (account.cloudpayments_public_id, account.cloudpayments_api_secret) == ("pk_school", "school-api-secret")
    assert "receipts" not in account.settings


def test_receipts_cannot_be_turned_on_without_cloudpayments_and_can_when_it_is_connected_in_the_same_change(account):
    Account.objects.filter(pk=account.pk).update(cloudpayments_api_secret="")
    receipts = {"enabled": True, "inn": "7701234567"}

    error = refused(account, {"receipts": receipts})

    assert (error.code, list(error.fields)) == ("setting_not_supported", ["receipts.enabled"])
    assert "подключите CloudPayments" in error.message
    assert not KEY.search(error.message), error.message
    account_settings_change(account=account, changes={"receipts": receipts,
                                                      "cloudpayments": {"api_secret": "school-api-secret"}})
    assert stored(account).settings["receipts"] == receipts


def test_receipts_need_their_inn(account):
    error = refused(account, {"receipts": {"enabled": True}})

    assert (error.code, list(error.fields)) == ("validation_error", ["receipts.inn"])
    assert "касса" in error.fields["receipts.inn"][0]


def test_the_old_reminder_list_is_refused_once_a_collections_ladder_replaced_it(account):
    account_settings_change(account=account, changes={"reminders": [{"day": 1, "action": "client_email"}]})
    dunning_policy_set(account=account, config={})

    error = refused(account, {"reminders": [{"day": 3, "action": "manager_task"}]})

    assert (error.code, list(error.fields)) == ("setting_not_supported", ["reminders"])
    assert "лестниц" in error.message
    # The list as stored still goes back unchanged (a complete body read and sent back).
    account_settings_change(account=account, changes={"reminders": [{"day": 1, "action": "client_email"}],
                                                      "invoice_lead_days": 2})
    assert stored(account).settings["invoice_lead_days"] == 2


def test_the_dunning_engine_keeps_every_reminder_action_it_runs(account):
    steps = [{"day": -3, "action": "client_email"}, {"day": 0, "action": "client_reminder"},
             {"day": 3, "action": "manager_task"}, {"day": 30, "action": "escalate"}]
    account_settings_change(account=account, changes={"reminders": steps})
    assert stored(account).settings["reminders"] == steps


def test_the_keyword_service_other_parts_call_is_checked_the_same(account):
    with pytest.raises(ApplicationError) as caught:
        account_settings_update(account=account, settings={"custom_fields": {"total": -5}})
    assert list(caught.value.fields) == ["custom_fields.total"]
    account_settings_update(account=account, settings={"task_user_id": 999999}, completed_status_id=143,
                            completed_pipeline_id=None)
    account = stored(account)
    assert (account.settings["task_user_id"], account.completed_status_id) == (999999, 143)


# --- the API: the same answers through the thin view -------------------------------------------------
@pytest.mark.parametrize(("body", "field"), [
    ({"gateway": "yookassa"}, "gateway"),
    ({"autopay": {"enabled": True}}, "autopay"),
    ({"receipts": {"taxation_system": 3}}, "receipts.taxation_system"),
    ({"requisites": {"swift": "SABRRUMM"}}, "requisites.swift"),
])
def test_a_setting_for_what_does_not_run_is_a_422_setting_not_supported_in_russian(account, body, field):
    response = russian_patch(account, {"invoice_lead_days": 7, **body})

    error = assert_error(response, 422, "setting_not_supported", field)
    assert error["message"].startswith("Не принято: «")
    assert not KEY.search(error["message"]), error["message"]
    assert "invoice_lead_days" not in stored(account).settings


def test_a_put_of_a_complete_body_with_an_unknown_setting_is_refused_too(account):
    assert_error(AdminClient(account).put(SETTINGS, {**FULL, "sms_provider": "smsc"}), 422, "setting_not_supported",
                 "sms_provider")


def test_a_body_read_and_sent_back_whole_is_accepted_with_its_derived_parts(account):
    admin = AdminClient(account)
    admin.put(SETTINGS, FULL)
    body = admin.get(SETTINGS).json()

    response = admin.put(SETTINGS, body)

    assert response.status_code == 200, response.content
    assert {key: value for key, value in response.json().items() if key != "cloudpayments"} == {
        key: value for key, value in body.items() if key != "cloudpayments"}


def test_an_api_refusal_in_russian_names_the_setting_in_words(account):
    response = russian_patch(account, {"requisites": {"kpp": "77"}})

    error = assert_error(response, 422, "validation_error", "requisites.kpp")
    assert error["message"] == "Проверьте «КПП»: Только цифры, ровно 9."
