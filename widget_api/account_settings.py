"""The account's settings as the CRM side reads them, with their defaults.

They live in `Account.settings` (JSON) next to the keys billing reads (`invoice_lead_days`,
`receipts`); the Completed stage and the time zone are columns of Account.
"""
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from billing.gateway.cloudpayments_notifications import KINDS
from billing.models import Account, GatewayEvent
from billing.names import client_service_name_setting
from documents.contexts import invoice_grace_days
from documents.selectors import requisites_missing

# The lead fields PayPlan keeps up to date; the account maps each to one of its custom field ids.
FIELD_KEYS = ("total", "received", "debt", "payments_count", "monthly_payment", "last_payment_day", "group",
              "education_direction", "next_payment_date")
REQUISITE_KEYS = ("company_name", "inn", "kpp", "ogrn", "address", "bank_name", "bik", "bank_account",
                  "correspondent_account", "email", "phone", "director", "accountant")
REMINDER_ACTIONS = ("client_email", "client_reminder", "manager_task", "escalate")
# Per-step roles of payout plans (billing.services.payouts.payout_roles): who pays, who closes the claim.
ROLE_KEYS = ("accountant_user_id", "claims_specialist_user_id")


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
        "roles": {key: (stored.get("roles") or {}).get(key) for key in ROLE_KEYS},
        "invoice_lead_days": int(stored.get("invoice_lead_days") or 0),
        "invoice_grace_days": invoice_grace_days(account),
        "time_zone": account.time_zone,
        "requisites": {key: (stored.get("requisites") or {}).get(key, "") for key in REQUISITE_KEYS},
        "requisites_missing": requisites_missing(account),
        "reminders": list(stored.get("reminders") or []),
        "receipts": dict(stored.get("receipts") or {"enabled": False}),
        "cloudpayments": cloudpayments_settings_get(account=account),
        "client_service_name": client_service_name_get(account=account),
    }


def client_service_name_get(*, account: Account) -> dict:
    """How documents, emails and the payment page name the service to clients (never the lead's title)."""
    setting = client_service_name_setting(account)
    return {"source": setting.source, "field_id": setting.field_id, "default_text": setting.default_text}


def notification_urls(account: Account) -> dict[str, str]:
    """The exact addresses to paste into the CloudPayments cabinet, one per notification kind."""
    origin = settings.PAYPLAN_PUBLIC_ORIGIN.rstrip("/")
    return {kind: origin + reverse("cloudpayments-webhook", kwargs={"account_key": account.webhook_key, "kind": kind})
            for kind in KINDS}


def last_notification(account: Account) -> dict | None:
    """The last notification that reached us for this account, whether or not it verified."""
    event = GatewayEvent.objects.filter(account=account).order_by("-id").only(
        "kind", "received_at", "signature_valid", "status", "answer_code").first()
    if event is None:
        return None
    return {"kind": event.kind, "received_at": event.received_at, "signature_valid": event.signature_valid,
            "status": event.status, "answer_code": event.answer_code}


def cloudpayments_settings_get(*, account: Account) -> dict:
    """The terminal as the settings page shows it; the API secret itself is never part of it."""
    return {
        "public_id": account.cloudpayments_public_id,
        "api_secret_set": bool(account.cloudpayments_api_secret),
        "connected": account.cloudpayments_connected,
        "test_mode": account.cloudpayments_test_mode,
        "notification_urls": notification_urls(account),
        "last_notification": last_notification(account),
    }
