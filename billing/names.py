"""What a deal is called: to clients (the account's chosen service name) and to managers (never blank).

A deal's title in the CRM is the manager's working note («Иванова — ВНУТР: скидка 30%»): clients never see it.
Invoices, receipts, contracts, the CloudPayments order and emails name the service through
`deal_service_name`; analytics and exports name a deal through `deal_display_name`.
"""
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from billing.domain.account_settings import (
    CRM_FIELD_SOURCES,
    DEFAULT_SERVICE_TEXT,
    SERVICE_NAME_SOURCES,
    ClientServiceName,
    client_service_name_read,
)
from billing.models import Account, Deal

__all__ = ["CRM_FIELD_SOURCES", "DEFAULT_SERVICE_TEXT", "SERVICE_NAME_SOURCES", "ClientServiceName",
           "client_service_name_setting", "deal_display_name", "deal_service_name", "service_default_text"]


def client_service_name_setting(account: Account) -> ClientServiceName:
    """The account's `client_service_name` setting, defaults filled in; an unknown source counts as fixed."""
    return client_service_name_read(account.settings)


def deal_service_name(deal: Deal) -> str:
    """The service as the client reads it; the deal's CRM title is never a candidate."""
    setting = client_service_name_setting(deal.account)
    chosen = {"group": deal.group, "education_direction": deal.education_direction, "fixed": ""}.get(
        setting.source, deal.service_name)
    return (chosen or "").strip() or service_default_text(setting)


def service_default_text(setting: ClientServiceName) -> str:
    """The account's own default text as written; the standard one from the catalogue in the active language
    («Оплата услуг»): callers that speak to clients run inside billing.texts.in_account_language."""
    if setting.default_text == DEFAULT_SERVICE_TEXT:
        return pgettext("client service name", "Payment for services")
    return setting.default_text


def deal_display_name(*, name: str, external_id: int) -> str:
    """The deal's name for managers: its CRM title, or «Сделка №17651» when the lead has none."""
    return name.strip() or _("Deal #%(external_id)s") % {"external_id": external_id}
