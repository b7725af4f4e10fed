"""The typed account settings in plain Python: what a stored JSON reads as, and the problems a change has."""
import pytest

from billing.domain.account_settings import (
    INVOICE_GRACE_DAYS,
    SECTIONS,
    Circumstances,
    FiscalReceipts,
    Requisites,
    changes_clean,
    missing_for_replace,
    settings_check,
    settings_read,
)

RUNNING = Circumstances(cloudpayments_connected=True, ladder_saved=False)


def rules(body) -> dict[str, str]:
    return {problem.field: problem.rule for problem in changes_clean(body)[1]}


def test_an_empty_account_reads_as_the_defaults():
    typed = settings_read({})
    assert typed.requisites == Requisites()
    assert typed.fiscal == FiscalReceipts(enabled=False, taxation_system=1, method=4, object=4)
    assert (typed.invoicing.lead_days, typed.invoicing.grace_days) == (0, INVOICE_GRACE_DAYS)
    assert typed.invoicing.client_service_name.source == "fixed"
    assert typed.reminders == ()
    assert (typed.crm.field_ids, typed.crm.task_user_id) == ({}, None)


def test_junk_left_by_old_versions_reads_as_the_default_not_an_error():
    typed = settings_read({"invoice_grace_days": True, "receipts": {"taxation_system": None, "vat": 18},
                           "requisites": ["not", "a", "dict"], "reminders": [{"day": "x"}, 7],
                           "custom_fields": {"total": "abc", "debt": 512343}})
    assert typed.invoicing.grace_days == INVOICE_GRACE_DAYS
    assert (typed.fiscal.taxation_system, typed.fiscal.vat) == (1, None)
    assert typed.requisites == Requisites()
    assert typed.reminders == ()
    assert typed.crm.field_ids == {"debt": 512343}


def test_requisites_carry_the_bank_the_director_and_the_chief_accountant():
    typed = settings_read({"requisites": {"bank_name": " ПАО Сбербанк ", "bik": "044525225",
                                          "director": "Иванов И. И.", "accountant": "Петрова П. П."}})
    assert (typed.requisites.bank_name, typed.requisites.bik) == ("ПАО Сбербанк", "044525225")
    assert (typed.requisites.director, typed.requisites.accountant) == ("Иванов И. И.", "Петрова П. П.")


@pytest.mark.parametrize(("body", "field", "rule"), [
    ({"requisites": {"inn": "12"}}, "requisites.inn", "digits_inn"),
    ({"requisites": {"bik": "04452522"}}, "requisites.bik", "digits_bik"),
    ({"requisites": {"bank_account": "4070281090000000000x"}}, "requisites.bank_account", "digits_bank_account"),
    ({"requisites": {"email": "not an address"}}, "requisites.email", "email"),
    ({"requisites": {"director": "x" * 501}}, "requisites.director", "too_long"),
    ({"invoice_grace_days": 61}, "invoice_grace_days", "range"),
    ({"invoice_lead_days": "soon"}, "invoice_lead_days", "integer"),
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "time_zone"),
    ({"completed_stage": {"status_id": None}}, "completed_stage.status_id", "required"),
    ({"custom_fields": {"debt": 0}}, "custom_fields.debt", "amo_id"),
    ({"reminders": [{"day": 400, "action": "client_email"}]}, "reminders.0.day", "range"),
    ({"reminders": [{"day": 1, "action": "client_email", "channel": "sms"}]}, "reminders", "reminder_step"),
    ({"receipts": {"vat": 18}}, "receipts.vat", "choice"),
    ({"receipts": {"enabled": "yes"}}, "receipts.enabled", "boolean"),
    ({"client_service_name": {"source": "course"}}, "client_service_name.field_id", "service_field"),
    ({"cloudpayments": {"public_id": "pk space"}}, "cloudpayments.public_id", "public_id"),
    ({"cloudpayments": {"api_secret": "short"}}, "cloudpayments.api_secret", "api_secret"),
    (["not", "an", "object"], "non_field_errors", "settings_object"),
])
def test_each_bad_value_is_a_problem_naming_its_field(body, field, rule):
    assert rules(body) == {field: rule}


def test_a_good_change_is_cleaned_and_keeps_only_what_was_sent():
    clean, problems = changes_clean({"requisites": {"director": "  Сидоров С. С. "}, "invoice_grace_days": "5",
                                     "crm": {"status": "connected"}, "requisites_missing": ["kpp"],
                                     "cloudpayments": {"public_id": "pk_1", "api_secret": "",
                                                       "connected": True, "notification_urls": {}}})
    assert problems == []
    assert clean == {"requisites": {"director": "Сидоров С. С."}, "invoice_grace_days": 5,
                     "cloudpayments": {"public_id": "pk_1"}}


@pytest.mark.parametrize(("body", "field", "rule"), [
    ({"gateway": "yookassa"}, "gateway", "other_gateway"),
    ({"autopay": True}, "autopay", "unknown_setting"),
    ({"receipts": {"agent_sign": 1}}, "receipts.agent_sign", "unknown_setting"),
    ({"requisites": {"swift": "SABRRUMM"}}, "requisites.swift", "unknown_setting"),
])
def test_settings_for_what_does_not_run_are_unsupported_problems(body, field, rule):
    (problem,) = changes_clean(body)[1]
    assert (problem.field, problem.rule, problem.unsupported) == (field, rule, True)


def test_a_replacement_lists_every_section_and_key_it_lacks():
    assert missing_for_replace({"invoice_lead_days": 1})[:2] == ["completed_stage", "custom_fields"]
    assert "cloudpayments" not in missing_for_replace({})
    # CloudPayments, roles and the client-facing options (language, proposals, autopay, sign-up) may be left out
    assert set(missing_for_replace({})) == set(SECTIONS) - {
        "cloudpayments", "roles", "language", "proposal_expiry_days", "autopay_retry_days", "autopay_consent_text",
        "client_registration", "gateways", "yookassa", "plan_autostart", "early_payoff_mode"}
    assert missing_for_replace({"receipts": {"enabled": False}})[-7:-1] == [
        "receipts.inn", "receipts.taxation_system", "receipts.vat", "receipts.item_label", "receipts.method",
        "receipts.object"]


def test_payout_roles_are_clean_crm_user_ids_and_a_body_without_them_is_complete():
    clean, problems = changes_clean({"roles": {"accountant_user_id": 8765433, "claims_specialist_user_id": None}})
    assert (clean, problems) == ({"roles": {"accountant_user_id": 8765433, "claims_specialist_user_id": None}}, [])
    assert [problem.field for problem in changes_clean({"roles": {"accountant_user_id": 0}})[1]] == [
        "roles.accountant_user_id"]
    assert [problem.field for problem in changes_clean({"roles": {"lawyer_user_id": 1}})[1]] == [
        "roles.lawyer_user_id"]
    assert "custom_fields.next_payment_date" not in missing_for_replace({"custom_fields": {}})


def test_envd_is_refused_when_chosen_but_a_stored_one_never_blocks_other_changes():
    stored = {"receipts": {"enabled": False, "taxation_system": 3}}
    chosen = settings_check(stored={}, changes=changes_clean({"receipts": {"taxation_system": 3}})[0],
                            circumstances=RUNNING)
    assert [(problem.field, problem.rule, problem.unsupported) for problem in chosen] == [
        ("receipts.taxation_system", "retired_taxation", True)]
    unchanged = changes_clean({"receipts": {"taxation_system": 3, "vat": 20}})[0]
    assert settings_check(stored=stored, changes=unchanged, circumstances=RUNNING) == []


def test_receipts_are_turned_on_only_with_a_terminal_and_an_inn():
    on = changes_clean({"receipts": {"enabled": True}})[0]
    offline = Circumstances(cloudpayments_connected=False, ladder_saved=False)
    assert {problem.rule for problem in settings_check(stored={}, changes=on, circumstances=offline)} == {
        "receipts_without_terminal", "receipts_inn"}
    with_inn = changes_clean({"receipts": {"enabled": True, "inn": "7701234567"}})[0]
    assert settings_check(stored={}, changes=with_inn, circumstances=RUNNING) == []


def test_the_old_reminder_list_is_refused_only_when_a_ladder_replaced_it_and_it_changes():
    stored = {"reminders": [{"day": 1, "action": "client_email"}]}
    laddered = Circumstances(cloudpayments_connected=True, ladder_saved=True)
    same = changes_clean({"reminders": [{"day": 1, "action": "client_email"}]})[0]
    other = changes_clean({"reminders": [{"day": 2, "action": "client_reminder"}]})[0]
    assert settings_check(stored=stored, changes=same, circumstances=laddered) == []
    assert settings_check(stored=stored, changes=other, circumstances=RUNNING) == []
    (problem,) = settings_check(stored=stored, changes=other, circumstances=laddered)
    assert (problem.field, problem.rule, problem.unsupported) == ("reminders", "reminders_superseded", True)


def test_a_stored_receipts_section_without_its_inn_never_blocks_a_change_of_its_vat():
    stored = {"receipts": {"enabled": True}}
    assert settings_check(stored=stored, changes=changes_clean({"receipts": {"vat": 20}})[0],
                          circumstances=RUNNING) == []
    cleared = changes_clean({"receipts": {"inn": ""}})[0]
    assert [problem.rule for problem in settings_check(stored=stored, changes=cleared, circumstances=RUNNING)] == [
        "receipts_inn"]


def test_client_page_autopay_and_sign_up_options_are_typed_settings():
    clean, problems = changes_clean({
        "language": "en", "proposal_expiry_days": 10, "autopay_retry_days": [1, 3],
        "autopay_consent_text": {"ru": " Да "},
        "client_registration": {"enabled": True, "consent_text": "Согласие", "embed_origins": ["https://school.ru"],
                                "templates": [{"key": "course", "title": "Курс", "total": "90000.00",
                                               "installments_count": 3}]}})
    assert problems == []
    assert clean["autopay_consent_text"] == {"ru": "Да"}
    assert clean["client_registration"]["templates"][0]["installments_count"] == 3


def test_bad_client_page_autopay_and_sign_up_options_are_named():
    _, problems = changes_clean({"language": "de", "proposal_expiry_days": 0, "autopay_retry_days": [0, 3],
                                 "client_registration": {"enabled": "yes", "templates": "many", "captcha": True}})
    assert {problem.field for problem in problems} == {
        "language", "proposal_expiry_days", "autopay_retry_days.0", "client_registration.enabled",
        "client_registration.templates", "client_registration.captcha"}


# --- [J] the plan rules' stages as the account's CRM names them --------------------------------------------

def test_plan_rules_stages_of_a_crm_naming_stages_by_code_are_kept_as_codes():
    body = {"plan_autostart": {"stage": {"pipeline_id": 0, "status_id": "PREPAYMENT_INVOICE"},
                               "gate": {"enabled": True, "status_ids": ["EXECUTING", "C1:UC_PAYING"]}}}
    clean, problems = changes_clean(body, stage_ids="code")
    assert problems == []
    assert clean["plan_autostart"]["stage"] == {"pipeline_id": 0, "status_id": "PREPAYMENT_INVOICE"}
    assert clean["plan_autostart"]["gate"]["status_ids"] == ["EXECUTING", "C1:UC_PAYING"]


@pytest.mark.parametrize(("stage", "rule"), [
    ({"status_id": 142}, "stage_code"), ({"status_id": "142"}, "stage_code"), ({"status_id": "C1:"}, "stage_code"),
    ({"status_id": True}, "stage_code"), ({"status_id": "C1:WON", "pipeline_id": 2}, "stage_pipeline"),
])
def test_plan_rules_refuse_what_is_no_stage_code_of_such_a_crm(stage, rule):
    problems = changes_clean({"plan_autostart": {"stage": stage}}, stage_ids="code")[1]
    assert [(problem.field, problem.rule) for problem in problems] == [("plan_autostart.stage.status_id", rule)]


def test_an_amocrm_account_keeps_numbers_for_its_plan_rules_stages():
    assert rules({"plan_autostart": {"stage": {"status_id": "C1:WON"}}}) == {
        "plan_autostart.stage.status_id": "integer"}
    assert rules({"plan_autostart": {"stage": {"status_id": 142, "pipeline_id": 0}}}) == {
        "plan_autostart.stage.pipeline_id": "amo_id"}
