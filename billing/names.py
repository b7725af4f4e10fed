"""What a deal is called: to clients (the account's chosen service name) and to managers (never blank).

A lead's title in amoCRM is the manager's working note («Иванова — ВНУТР: скидка 30%»): clients never see it.
Invoices, receipts, contracts, the CloudPayments order and emails name the service through
`deal_service_name`; analytics and exports name a deal through `deal_display_name`.
"""
from dataclasses import dataclass

from django.utils.translation import gettext as _

from billing.models import Account, Deal

# product / course / custom_field: a lead custom field read from amoCRM into Deal.service_name on fetch;
# group / education_direction: the deal's own fields, set by the schedule dialog; fixed: the default text.
CRM_FIELD_SOURCES = ("product", "course", "custom_field")
SERVICE_NAME_SOURCES = (*CRM_FIELD_SOURCES, "group", "education_direction", "fixed")
DEFAULT_SERVICE_TEXT = "Оплата услуг"


@dataclass(frozen=True)
class ClientServiceName:
    source: str
    field_id: int | None
    default_text: str


def client_service_name_setting(account: Account) -> ClientServiceName:
    """The account's `client_service_name` setting, defaults filled in; an unknown source counts as fixed."""
    stored = account.settings.get("client_service_name") or {}
    source = stored.get("source") if stored.get("source") in SERVICE_NAME_SOURCES else "fixed"
    field_id = stored.get("field_id")
    return ClientServiceName(source=source, field_id=int(field_id) if field_id else None,
                             default_text=str(stored.get("default_text") or "").strip() or DEFAULT_SERVICE_TEXT)


def deal_service_name(deal: Deal) -> str:
    """The service as the client reads it; the deal's CRM title is never a candidate."""
    setting = client_service_name_setting(deal.account)
    chosen = {"group": deal.group, "education_direction": deal.education_direction, "fixed": ""}.get(
        setting.source, deal.service_name)
    return (chosen or "").strip() or setting.default_text


def deal_display_name(*, name: str, lead_id: int) -> str:
    """The deal's name for managers: its CRM title, or «Сделка №17651» when the lead has none."""
    return name.strip() or _("Deal #%(lead_id)s") % {"lead_id": lead_id}
