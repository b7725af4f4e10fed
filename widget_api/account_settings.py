"""The account's settings as the widget's settings page and the CRM side read them, defaults filled in.

Billing owns them (billing.domain.account_settings: typed sections and their rules;
billing.services.account_settings: the only writer); the Completed stage and the time zone are columns
of Account.
"""
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from billing.domain.account_settings import (
    FIELD_KEYS,
    REMINDER_ACTIONS,
    REQUISITE_KEYS,
    ROLE_KEYS,
    crm_mapping_read,
    gateways_read,
    settings_read,
)
from billing.gateway.cloudpayments_notifications import KINDS
from billing.models import Account, GatewayEvent
from documents.selectors import requisites_missing

__all__ = ["FIELD_KEYS", "REMINDER_ACTIONS", "REQUISITE_KEYS", "CrmSettings", "account_settings_get",
           "cloudpayments_settings_get", "crm_settings"]


@dataclass(frozen=True)
class CrmSettings:
    completed_status_id: int
    completed_pipeline_id: int | None  # None: the lead's own pipeline (142/143 exist in every one)
    field_ids: dict[str, int]  # only the mapped keys
    task_user_id: int | None  # None: the lead's responsible user


def crm_settings(account: Account) -> CrmSettings:
    mapping = crm_mapping_read(account.settings)
    return CrmSettings(completed_status_id=account.completed_status_id,
                       completed_pipeline_id=account.completed_pipeline_id,
                       field_ids=mapping.field_ids, task_user_id=mapping.task_user_id)


def account_settings_get(*, account: Account) -> dict:
    """Every setting the widget's settings page shows, defaults filled in."""
    stored = account.settings
    typed = settings_read(stored)
    return {
        "completed_stage": {"pipeline_id": account.completed_pipeline_id, "status_id": account.completed_status_id},
        "custom_fields": {key: (stored.get("custom_fields") or {}).get(key) for key in FIELD_KEYS},
        "task_user_id": stored.get("task_user_id"),
        "roles": {key: (stored.get("roles") or {}).get(key) for key in ROLE_KEYS},
        "invoice_lead_days": typed.invoicing.lead_days,
        "invoice_grace_days": typed.invoicing.grace_days,
        "time_zone": account.time_zone,
        "requisites": {key: (stored.get("requisites") or {}).get(key, "") for key in REQUISITE_KEYS},
        "requisites_missing": requisites_missing(account),
        "reminders": list(stored.get("reminders") or []),
        "receipts": dict(stored.get("receipts") or {"enabled": False}),
        "cloudpayments": cloudpayments_settings_get(account=account),
        "gateways": gateways_settings_get(account=account),
        "yookassa": yookassa_settings_get(account=account),
        "client_service_name": client_service_name_get(account=account),
    }


def client_service_name_get(*, account: Account) -> dict:
    """How documents, emails and the payment page name the service to clients (never the lead's title)."""
    setting = settings_read(account.settings).invoicing.client_service_name
    return {"source": setting.source, "field_id": setting.field_id, "default_text": setting.default_text}


def notification_urls(account: Account) -> dict[str, str]:
    """The exact addresses to paste into the CloudPayments cabinet, one per notification kind."""
    origin = settings.PAYPLAN_PUBLIC_ORIGIN.rstrip("/")
    return {kind: origin + reverse("cloudpayments-webhook", kwargs={"account_key": account.webhook_key, "kind": kind})
            for kind in KINDS}


def last_notification(account: Account) -> dict | None:
    """The last CloudPayments notification that reached us for this account, whether or not it verified."""
    event = GatewayEvent.objects.filter(account=account, gateway="cloudpayments").order_by("-id").only(
        "kind", "received_at", "signature_valid", "status", "answer_code").first()
    if event is None:
        return None
    return {"kind": event.kind, "received_at": event.received_at, "signature_valid": event.signature_valid,
            "status": event.status, "answer_code": event.answer_code}


def gateways_settings_get(*, account: Account) -> dict:
    chosen = gateways_read(account.settings)
    return {"cards": chosen.cards, "sbp": chosen.sbp}


def yookassa_settings_get(*, account: Account) -> dict:
    """The YooKassa shop as the settings page shows it; the secret key itself is never part of it."""
    origin = settings.PAYPLAN_PUBLIC_ORIGIN.rstrip("/")
    return {
        "shop_id": account.yookassa_shop_id,
        "secret_key_set": bool(account.yookassa_secret_key),
        "connected": account.yookassa_connected,
        "notification_url": origin + reverse("yookassa-webhook", kwargs={"account_key": account.webhook_key}),
    }


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
