"""The account's settings as the widget's settings page reads them, defaults filled in (the CRM side: crm.settings).

Billing owns them (billing.domain.account_settings: typed sections and their rules;
billing.services.account_settings: the only writer); the Completed stage and the time zone are columns
of Account.
"""
from django.conf import settings
from django.urls import reverse

from billing.client_links import registration_url
from billing.domain.account_settings import (
    FIELD_KEYS,
    LANGUAGES,
    REMINDER_ACTIONS,
    REQUISITE_KEYS,
    ROLE_KEYS,
    gateways_read,
    settings_read,
)
from billing.domain.plan_autostart import payoff_mode_read
from billing.gateway.cloudpayments_notifications import KINDS
from billing.models import Account, GatewayEvent
from billing.names import service_default_text
from billing.services.autopay import retry_days
from billing.services.proposals import proposal_expiry_days
from documents.selectors import requisites_missing

__all__ = ["FIELD_KEYS", "REMINDER_ACTIONS", "REQUISITE_KEYS", "account_settings_get",
           "cloudpayments_settings_get"]


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
        **client_features_get(account=account),
        **plan_rules_get(account=account),
    }


def plan_rules_get(*, account: Account) -> dict:
    """[J] The stage that builds a plan from the template, the gate, and the default early payment rule."""
    stored = account.settings.get("plan_autostart") if isinstance(account.settings.get("plan_autostart"), dict) else {}
    gate = stored.get("gate") if isinstance(stored.get("gate"), dict) else {}
    stage = stored.get("stage") if isinstance(stored.get("stage"), dict) else {}
    return {
        "plan_autostart": {
            "enabled": bool(stored.get("enabled")),
            "stage": {"pipeline_id": stage.get("pipeline_id"), "status_id": stage.get("status_id")},
            "template": stored.get("template") if isinstance(stored.get("template"), dict) else None,
            "gate": {"enabled": bool(gate.get("enabled")), "status_ids": list(gate.get("status_ids") or [])},
        },
        "early_payoff_mode": payoff_mode_read(account.settings),
    }


def client_features_get(*, account: Account) -> dict:
    """The client-facing features (client page, autopay, sign-up form) as the settings page shows them: what
    is in force, defaults filled in. The consent texts are per language (a blank one: ours, or the Russian one);
    `registration_url` is derived (the form's address, the same whether the form is on or off)."""
    stored = account.settings
    language = stored.get("language")
    own = stored.get("autopay_consent_text")
    texts = own if isinstance(own, dict) else {"ru": own if isinstance(own, str) else ""}
    registration = stored.get("client_registration") if isinstance(stored.get("client_registration"), dict) else {}
    templates = [template for template in registration.get("templates") or [] if isinstance(template, dict)]
    return {
        "language": language if language in LANGUAGES else "ru",
        "proposal_expiry_days": proposal_expiry_days(account),
        "autopay_retry_days": list(retry_days(account)),
        "autopay_consent_text": {code: str(texts.get(code) or "") for code in LANGUAGES},
        "client_registration": {
            "enabled": bool(registration.get("enabled")),
            "consent_text": str(registration.get("consent_text") or ""),
            "templates": [{"key": template.get("key"), "title": template.get("title"), "total": template.get("total"),
                           "installments_count": template.get("installments_count"),
                           "period": template.get("period") or "month",
                           "first_due_in_days": template.get("first_due_in_days") or 0} for template in templates],
            "embed_origins": [str(origin) for origin in registration.get("embed_origins") or []],
        },
        "registration_url": registration_url(account.pk),
    }


def client_service_name_get(*, account: Account) -> dict:
    """How documents, emails and the payment page name the service to clients (never the lead's title)."""
    setting = settings_read(account.settings).invoicing.client_service_name
    return {"source": setting.source, "field_id": setting.field_id, "default_text": service_default_text(setting)}


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
        "payout_agent_id": account.yookassa_payout_agent_id,
        "payout_secret_key_set": bool(account.yookassa_payout_secret_key),
        "payouts_connected": account.yookassa_payouts_connected,
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
