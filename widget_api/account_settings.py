"""The account's settings as the CRM side reads them, with their defaults.

They live in `Account.settings` (JSON) next to the keys billing reads (`invoice_lead_days`,
`receipts`); the Completed stage and the time zone are columns of Account.
"""
from dataclasses import dataclass

from billing.models import Account
from documents.selectors import requisites_missing

# The lead fields PayPlan keeps up to date; the account maps each to one of its custom field ids.
FIELD_KEYS = ("total", "received", "debt", "payments_count", "monthly_payment", "last_payment_day", "group",
              "education_direction")
REQUISITE_KEYS = ("company_name", "inn", "kpp", "ogrn", "address", "bank_name", "bik", "bank_account",
                  "correspondent_account", "email", "phone", "director", "accountant")
REMINDER_ACTIONS = ("client_email", "client_reminder", "manager_task", "escalate")


@dataclass(frozen=True)
class CrmSettings:
    completed_status_id: int
    completed_pipeline_id: int | None  # None: the lead's own pipeline (142/143 exist in every one)
    field_ids: dict[str, int]  # only the mapped keys
    task_user_id: int | None  # None: the lead's responsible user


def crm_settings(account: Account) -> CrmSettings:
    mapping = account.settings.get("custom_fields") or {}
    return CrmSettings(
        completed_status_id=account.completed_status_id,
        completed_pipeline_id=account.completed_pipeline_id,
        field_ids={key: int(mapping[key]) for key in FIELD_KEYS if mapping.get(key)},
        task_user_id=account.settings.get("task_user_id") or None,
    )


def account_settings_get(*, account: Account) -> dict:
    """Every setting the widget's settings page shows, defaults filled in."""
    stored = account.settings
    return {
        "completed_stage": {"pipeline_id": account.completed_pipeline_id, "status_id": account.completed_status_id},
        "custom_fields": {key: (stored.get("custom_fields") or {}).get(key) for key in FIELD_KEYS},
        "task_user_id": stored.get("task_user_id"),
        "invoice_lead_days": int(stored.get("invoice_lead_days") or 0),
        "time_zone": account.time_zone,
        "requisites": {key: (stored.get("requisites") or {}).get(key, "") for key in REQUISITE_KEYS},
        "requisites_missing": requisites_missing(account),
        "reminders": list(stored.get("reminders") or []),
        "receipts": dict(stored.get("receipts") or {"enabled": False}),
    }
