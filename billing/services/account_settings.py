"""Changing the account's settings: every key checked by billing's typed sections, refused in Russian
naming the setting in words, and settings for capabilities that do not run refused rather than stored."""
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.domain import account_settings as schema
from billing.domain.account_settings import Circumstances, Problem
from billing.dunning.selectors import ladder_saved
from billing.errors import ApplicationError
from billing.models import Account

FIELD_LABELS = {
    "completed_stage": gettext_lazy("The stage of a paid deal"),
    "completed_stage.status_id": gettext_lazy("The stage of a paid deal"),
    "completed_stage.pipeline_id": gettext_lazy("The pipeline of the paid deal's stage"),
    "custom_fields": gettext_lazy("The lead fields PayPlan fills in"),
    "custom_fields.total": gettext_lazy("The lead field for the total"),
    "custom_fields.received": gettext_lazy("The lead field for the money received"),
    "custom_fields.debt": gettext_lazy("The lead field for the debt"),
    "custom_fields.payments_count": gettext_lazy("The lead field for the number of payments"),
    "custom_fields.monthly_payment": gettext_lazy("The lead field for the monthly payment"),
    "custom_fields.last_payment_day": gettext_lazy("The lead field for the last payment's date"),
    "custom_fields.group": gettext_lazy("The lead field for the group"),
    "custom_fields.education_direction": gettext_lazy("The lead field for the education direction"),
    "task_user_id": gettext_lazy("Who gets tasks"),
    "invoice_lead_days": gettext_lazy("Days before the due date an invoice is issued"),
    "invoice_grace_days": gettext_lazy("Days to pay an invoice for a payment already due"),
    "time_zone": gettext_lazy("Time zone"),
    "requisites": gettext_lazy("Requisites"),
    "requisites.company_name": gettext_lazy("Company name"),
    "requisites.inn": gettext_lazy("The company's INN"),
    "requisites.kpp": gettext_lazy("KPP"),
    "requisites.ogrn": gettext_lazy("OGRN"),
    "requisites.address": gettext_lazy("Address"),
    "requisites.bank_name": gettext_lazy("Bank"),
    "requisites.bik": gettext_lazy("The bank's BIK"),
    "requisites.bank_account": gettext_lazy("Settlement account"),
    "requisites.correspondent_account": gettext_lazy("Correspondent account"),
    "requisites.email": gettext_lazy("Email for replies"),
    "requisites.phone": gettext_lazy("Phone"),
    "requisites.director": gettext_lazy("Director"),
    "requisites.accountant": gettext_lazy("Chief accountant"),
    "reminders": gettext_lazy("Reminders"),
    "receipts": gettext_lazy("Receipts"),
    "receipts.enabled": gettext_lazy("Sending a receipt after each payment"),
    "receipts.inn": gettext_lazy("The INN for receipts"),
    "receipts.taxation_system": gettext_lazy("Taxation system"),
    "receipts.vat": gettext_lazy("VAT rate"),
    "receipts.item_label": gettext_lazy("The item's name on the receipt"),
    "receipts.method": gettext_lazy("Payment method sign"),
    "receipts.object": gettext_lazy("Subject of payment"),
    "client_service_name": gettext_lazy("The service name clients read"),
    "client_service_name.source": gettext_lazy("Where the service name is taken from"),
    "client_service_name.field_id": gettext_lazy("The lead field with the service name"),
    "client_service_name.default_text": gettext_lazy("The default service name"),
    "cloudpayments": gettext_lazy("CloudPayments"),
    "cloudpayments.public_id": gettext_lazy("CloudPayments Public ID"),
    "cloudpayments.api_secret": gettext_lazy("CloudPayments API secret"),
    "cloudpayments.clear_api_secret": gettext_lazy("Disconnecting CloudPayments"),
    "cloudpayments.test_mode": gettext_lazy("The terminal's test mode"),
    "gateways": gettext_lazy("Payment gateways"),
    "gateways.cards": gettext_lazy("The gateway for cards and payment links"),
    "gateways.sbp": gettext_lazy("The gateway for SBP payments"),
    "yookassa": gettext_lazy("YooKassa"),
    "yookassa.shop_id": gettext_lazy("YooKassa shop ID"),
    "yookassa.secret_key": gettext_lazy("YooKassa secret key"),
    "yookassa.clear_secret_key": gettext_lazy("Disconnecting YooKassa"),
    "yookassa.payout_agent_id": gettext_lazy("YooKassa payout gateway ID"),
    "yookassa.payout_secret_key": gettext_lazy("YooKassa payout gateway secret key"),
    "yookassa.clear_payout_secret_key": gettext_lazy("Disconnecting YooKassa payouts"),
    "language": gettext_lazy("The language of client texts"),
    "proposal_expiry_days": gettext_lazy("Days a proposed schedule waits for the client"),
    "autopay_retry_days": gettext_lazy("Days between autopay retries"),
    "autopay_consent_text": gettext_lazy("The autopay consent text"),
    "client_registration": gettext_lazy("The sign-up form"),
    "client_registration.enabled": gettext_lazy("The sign-up form is on"),
    "client_registration.consent_text": gettext_lazy("The consent to personal data processing"),
    "client_registration.templates": gettext_lazy("The plans the sign-up form offers"),
    "client_registration.embed_origins": gettext_lazy("Sites that may embed the sign-up form"),
    "non_field_errors": gettext_lazy("Settings"),
    # [J] plans that start themselves, and the early payment rule
    "early_payoff_mode": gettext_lazy("What an early payment does by default"),
    "plan_autostart": gettext_lazy("Plans that start themselves"),
    "plan_autostart.enabled": gettext_lazy("Building the plan at a stage is on"),
    "plan_autostart.stage": gettext_lazy("The stage that builds the plan"),
    "plan_autostart.stage.status_id": gettext_lazy("The stage that builds the plan"),
    "plan_autostart.stage.pipeline_id": gettext_lazy("The pipeline of the stage that builds the plan"),
    "plan_autostart.gate": gettext_lazy("Stages closed until the first payment"),
    "plan_autostart.gate.enabled": gettext_lazy("Stages closed until the first payment"),
    "plan_autostart.gate.status_ids": gettext_lazy("Stages closed until the first payment"),
    "plan_autostart.template": gettext_lazy("The plan template"),
    "plan_autostart.template.plan": gettext_lazy("The template's kind of plan"),
    "plan_autostart.template.total": gettext_lazy("The template's amount"),
    "plan_autostart.template.down_payment": gettext_lazy("The template's down payment"),
    "plan_autostart.template.installments_count": gettext_lazy("The template's number of payments"),
    "plan_autostart.template.period": gettext_lazy("The template's period"),
    "plan_autostart.template.due_day": gettext_lazy("The template's day of the month"),
    "plan_autostart.template.first_due_in_days": gettext_lazy("Days to the template's first payment"),
    "plan_autostart.template.annual_rate": gettext_lazy("The template's annual rate"),
    "plan_autostart.template.grace_periods": gettext_lazy("The template's grace period"),
    "plan_autostart.template.fees": gettext_lazy("The template's fee lines"),
}
RULE_MESSAGES = {
    "required": gettext_lazy("Fill this in."),
    "integer": gettext_lazy("A whole number is needed."),
    "range": gettext_lazy("A whole number from %(min)s to %(max)s."),
    "amo_id": gettext_lazy("A CRM id is needed: a whole number above zero."),
    "stage_code": gettext_lazy("This CRM names a stage by its code, e.g. «C1:NEW» or «WON»: "
                               "choose the stage from the list."),
    "stage_pipeline": gettext_lazy("This stage belongs to another pipeline."),
    "boolean": gettext_lazy("Yes or no is needed."),
    "text": gettext_lazy("Text is needed."),
    "too_long": gettext_lazy("At most %(max)s characters."),
    "choice": gettext_lazy("Choose one of the offered values."),
    "object": gettext_lazy("A group of settings is needed here."),
    "list": gettext_lazy("A list of steps is needed."),
    "values": gettext_lazy("A list is needed."),
    "too_many": gettext_lazy("At most %(max)s steps."),
    "too_many_values": gettext_lazy("At most %(max)s items."),
    "settings_object": gettext_lazy("The settings are sent as one JSON object."),
    "digits_inn": gettext_lazy("Digits only: 10 for an organisation, 12 for a sole trader."),
    "digits_kpp": gettext_lazy("Digits only: 9 of them."),
    "digits_ogrn": gettext_lazy("Digits only: 13 for an organisation, 15 for a sole trader."),
    "digits_bik": gettext_lazy("Digits only: 9 of them."),
    "digits_bank_account": gettext_lazy("Digits only: 20 of them."),
    "digits_correspondent_account": gettext_lazy("Digits only: 20 of them."),
    "email": gettext_lazy("An email address is needed, like pay@school.ru."),
    "time_zone": gettext_lazy("Unknown time zone."),
    "reminder_step": gettext_lazy("Every reminder step needs a day and an action."),
    "service_field": gettext_lazy("Choose the lead field the service name is taken from."),
    "public_id": gettext_lazy("Latin letters, digits, '_', '-' and '.'."),
    "api_secret": gettext_lazy("The API secret is at least 8 characters without spaces."),
    "amount": gettext_lazy("An amount in roubles above zero is needed, like 160000 or 160000,50."),
    "origin": gettext_lazy("A site address is needed, like https://school.ru (https, nothing after the name)."),
    "duplicate_key": gettext_lazy("Another programme already has this code."),
    "shop_id": gettext_lazy("The shop ID is digits only."),
    "gateway_not_connected": gettext_lazy("Enter this gateway's keys first: without them no payment can be taken."),
    "receipts_inn": gettext_lazy("Receipts need the INN the cash register is registered under."),
    # Settings for something that does not run: refused, never stored.
    "unknown_setting": gettext_lazy("PayPlan has no such setting: it would change nothing."),
    "other_gateway": gettext_lazy("The gateway is chosen in «gateways» (cards and SBP: CloudPayments or "
                                  "YooKassa), with its keys in «cloudpayments» or «yookassa»."),
    "retired_taxation": gettext_lazy("ENVD was abolished in 2021: no cash register issues receipts under it."),
    "receipts_without_terminal": gettext_lazy("Receipts are sent through the CloudKassir of the CloudPayments "
                                              "terminal: connect CloudPayments first."),
    "template_field": gettext_lazy("Choose the deal field this value is read from."),
    "template_value": gettext_lazy("The template needs this value: fixed, the deal's amount or a deal field."),
    "annual_rate": gettext_lazy("The interest rate must be from 0 to %(max)s %% a year."),
    "grace_too_long": gettext_lazy("The grace period must be shorter than the plan."),
    "template_field_unknown": gettext_lazy("The CRM has no deal field %(id)s: choose one of its fields."),
    "gate_trigger": gettext_lazy("The stage that builds the plan cannot also wait for the first payment."),
    "reminders_superseded": gettext_lazy("Reminders follow the collections ladder saved for this account: this "
                                         "list is no longer read. Change the ladder's steps instead."),
}


def field_label(path: str) -> str:
    """The setting in words: «ИНН организации», «День шага напоминаний № 2»."""
    if path in FIELD_LABELS:
        return str(FIELD_LABELS[path])
    parts = path.split(".")
    if parts[0] == "reminders" and len(parts) == 3 and parts[1].isdigit():
        label = _("Day of reminder step %(number)s") if parts[2] == "day" else _("Action of reminder step %(number)s")
        return label % {"number": int(parts[1]) + 1}
    if parts[:2] == ["client_registration", "templates"] and len(parts) >= 3 and parts[2].isdigit():
        return _("Programme %(number)s of the sign-up form") % {"number": int(parts[2]) + 1}
    if parts[:2] == ["client_registration", "embed_origins"]:
        return str(FIELD_LABELS["client_registration.embed_origins"])
    if parts[:3] == ["plan_autostart", "template", "fees"] and len(parts) >= 4 and parts[3].isdigit():
        return _("Fee line %(number)s of the plan template") % {"number": int(parts[3]) + 1}
    if len(parts) > 3 and ".".join(parts[:3]) in FIELD_LABELS and parts[0] == "plan_autostart":
        return str(FIELD_LABELS[".".join(parts[:3])])  # a value's source or field: the value itself
    if parts[0] == "autopay_retry_days":
        return str(FIELD_LABELS["autopay_retry_days"])
    return _("This setting")


def problem_text(problem: Problem) -> str:
    return str(RULE_MESSAGES[problem.rule]) % dict(problem.params)


def settings_refused(problems: list[Problem]) -> ApplicationError:
    """One 422 for every problem: `setting_not_supported` when a setting is for something that does not run
    (those are named alone), else `validation_error`; the message names the first setting in words."""
    unsupported = [problem for problem in problems if problem.unsupported]
    shown = unsupported or problems
    fields: dict[str, list[str]] = {}
    for problem in shown:
        fields.setdefault(problem.field, []).append(problem_text(problem))
    first = shown[0]
    message = _("Not accepted: «%(field)s». %(problem)s") if unsupported else _("Check «%(field)s»: %(problem)s")
    return ApplicationError("setting_not_supported" if unsupported else "validation_error",
                            message % {"field": field_label(first.field), "problem": problem_text(first)}, fields)


def settings_incomplete(missing: list[str]) -> ApplicationError:
    return ApplicationError(
        "settings_incomplete",
        _("Replacing the settings needs all of them; missing: %(keys)s. To change only some, use PATCH.")
        % {"keys": "; ".join(field_label(key) if key in FIELD_LABELS else key for key in missing)},
        {key: [_("Required when all settings are replaced.")] for key in missing})


@transaction.atomic
def account_settings_change(*, account: Account, changes: dict, replace: bool = False,
                            deal_field_ids: frozenset[int] | None = None, stage_ids: str = "number") -> Account:
    """Apply the settings a request sends, or refuse all of them (ApplicationError, nothing written).

    `replace=False` (PATCH): only the keys sent change; objects merge key by key, lists and values are
    replaced. `replace=True` (PUT): every section must be there (`settings_incomplete` names what is
    missing), each replaces the stored one whole. Either way stored keys the body does not know are kept,
    `completed_stage` and `time_zone` are columns of Account, and `cloudpayments` holds the terminal's keys
    (a blank secret keeps the stored one, `clear_api_secret` removes it).
    """
    if replace:
        missing = schema.missing_for_replace(changes)
        if missing:
            raise settings_incomplete(missing)
    clean, problems = schema.changes_clean(changes, stage_ids=stage_ids)
    if problems:
        raise settings_refused(problems)
    account = Account.objects.select_for_update().get(pk=account.pk)
    changed = _apply_cloudpayments(account, clean.get("cloudpayments") or {})
    changed += _apply_yookassa(account, clean.get("yookassa") or {})
    circumstances = Circumstances(cloudpayments_connected=account.cloudpayments_connected,
                                  ladder_saved=ladder_saved(account=account),
                                  yookassa_connected=account.yookassa_connected, deal_field_ids=deal_field_ids)
    problems = schema.settings_check(stored=account.settings, changes=clean, circumstances=circumstances)
    if problems:
        raise settings_refused(problems)
    stage = clean.get("completed_stage") or {}
    if "status_id" in stage:
        account.completed_status_id = stage["status_id"]
    if "pipeline_id" in stage:
        account.completed_pipeline_id = stage["pipeline_id"]
    if clean.get("time_zone"):
        account.time_zone = clean["time_zone"]
    stored_part = {key: value for key, value in clean.items() if key not in schema.COLUMN_SECTIONS}
    account.settings = ({**account.settings, **stored_part} if replace
                        else schema.settings_merged(account.settings, stored_part))
    account.save(update_fields=["settings", "time_zone", "completed_status_id", "completed_pipeline_id", *changed])
    return account


def _apply_gateway_keys(account: Account, keys: dict, *, gateway: str, identity: str, secret: str) -> list[str]:
    """A gateway's key pair: the identity when given; the secret replaced when given, cleared on
    `clear_<secret>`, kept otherwise (it is write-only). The account fields are `<gateway>_<key>`."""
    changed = []
    if keys.get(identity) is not None:
        setattr(account, f"{gateway}_{identity}", keys[identity])
        changed.append(f"{gateway}_{identity}")
    if keys.get(f"clear_{secret}"):
        setattr(account, f"{gateway}_{secret}", "")
        changed.append(f"{gateway}_{secret}")
    elif keys.get(secret):
        setattr(account, f"{gateway}_{secret}", keys[secret])
        changed.append(f"{gateway}_{secret}")
    return changed


def _apply_yookassa(account: Account, keys: dict) -> list[str]:
    return (_apply_gateway_keys(account, keys, gateway="yookassa", identity="shop_id", secret="secret_key")
            + _apply_gateway_keys(account, keys, gateway="yookassa", identity="payout_agent_id",
                                  secret="payout_secret_key"))


def _apply_cloudpayments(account: Account, keys: dict) -> list[str]:
    changed = _apply_gateway_keys(account, keys, gateway="cloudpayments", identity="public_id",
                                  secret="api_secret")
    if keys.get("test_mode") is not None:
        account.cloudpayments_test_mode = keys["test_mode"]
        changed.append("cloudpayments_test_mode")
    return changed
