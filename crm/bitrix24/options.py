"""What the settings page offers to pick from, read live from a Bitrix24 account's portal: pipelines
(deal categories) with their stages, the portal's users and the deal user fields; the users' names for
analytics. The same shapes amoCRM's options have (crm.amocrm.options), in Bitrix24's terms: a stage id is
its STATUS_ID string (`C1:WON`), a pipeline id the category id (0 = the default one)."""
import logging

from django.core.cache import cache
from django.utils.translation import gettext

from billing.errors import ApplicationError
from billing.models import Account
from crm import coordination
from crm.bitrix24.client import Bitrix24Client
from crm.bitrix24.errors import Bitrix24Error, ReinstallNeeded, Rejected
from crm.bitrix24.models import Portal

logger = logging.getLogger(__name__)

INTERACTIVE_WAIT_SECONDS = 10.0
USER_NAMES_SECONDS = 3600
USER_NAMES_MISSING_SECONDS = 300
FIELD_PREFIX = "UF_CRM_"


def _client(account: Account) -> Bitrix24Client:
    portal = Portal.objects.filter(account=account, status=Portal.Status.INSTALLED).first()
    if portal is None:
        raise ReinstallNeeded("the portal is not installed")
    return Bitrix24Client(portal, max_wait=INTERACTIVE_WAIT_SECONDS)


def crm_options_get(*, account: Account) -> dict:
    """Pipelines with their stages, users and deal user fields; Bitrix24's trouble as ApplicationError."""
    try:
        return _options(_client(account), account)
    except ReinstallNeeded as exc:
        raise ApplicationError("crm_not_connected", gettext(
            "PayPlan has lost its access to Bitrix24: reinstall the app."), status=409) from exc
    except Rejected as exc:
        logger.warning("Bitrix24 refused the options request: %s", exc)
        raise ApplicationError("crm_refused", gettext("Bitrix24 refused the request; try again later."),
                               status=502) from exc
    except Bitrix24Error as exc:
        logger.warning("Bitrix24 cannot be reached for options: %s", exc)
        raise ApplicationError("crm_unavailable", gettext("Bitrix24 cannot be reached now; try again in a minute."),
                               status=503) from exc


def _options(client: Bitrix24Client, account: Account) -> dict:
    first = client.batch({"categories": ("crm.category.list", {"entityTypeId": 2}),
                          "users": ("user.get", {}),
                          "fields": ("crm.deal.userfield.list", {})})
    warnings = [f"{key}: {code or 'error'} {text}".strip() for key, (code, text) in first.errors.items()]
    categories = (first.results.get("categories") or {}).get("categories") or [{"id": 0, "name": "", "isDefault": "Y"}]
    stages = client.batch({f"c{row['id']}": ("crm.status.list", {
        "filter": {"ENTITY_ID": "DEAL_STAGE" if str(row["id"]) == "0" else f"DEAL_STAGE_{row['id']}"},
        "order": {"SORT": "ASC"}}) for row in categories})
    users = [row for row in first.results.get("users") or [] if isinstance(row, dict)
             and row.get("ACTIVE") not in (False, "N")]
    if "users" not in first.errors:
        _user_names_remember(account.pk, users, USER_NAMES_SECONDS)
    installer = client.portal.installer_user_id
    return {
        "pipelines": [{"id": int(row["id"]), "name": str(row.get("name") or ""),
                       "is_main": str(row.get("isDefault") or "N") == "Y" or str(row["id"]) == "0",
                       "statuses": [{"id": str(stage["STATUS_ID"]), "name": str(stage.get("NAME") or ""),
                                     "sort": int(stage.get("SORT") or 0), "color": str(stage.get("COLOR") or "")}
                                    for stage in stages.results.get(f"c{row['id']}") or []]}
                      for row in categories],
        "users": [{"id": int(user["ID"]), "name": _user_name(user), "email": str(user.get("EMAIL") or ""),
                   "is_admin": int(user["ID"]) == installer, "is_active": user.get("ACTIVE") not in (False, "N")}
                  for user in users],
        "lead_fields": [{"id": int(row.get("ID") or 0), "name": _field_label(row), "type": str(row.get("USER_TYPE_ID")
                                                                                                or ""),
                         "code": str(row.get("FIELD_NAME") or ""),
                         "enums": [{"id": int(item.get("ID") or 0), "value": str(item.get("VALUE") or "")}
                                   for item in row.get("LIST") or []]}
                        for row in first.results.get("fields") or [] if isinstance(row, dict)
                        and str(row.get("FIELD_NAME") or "").startswith(FIELD_PREFIX)],
        # PayPlan's own user fields are made at install: nothing to map by hand.
        "suggested_custom_fields": {},
        "warnings": warnings,
    }


def _user_name(user: dict) -> str:
    return " ".join(part for part in (str(user.get("NAME") or ""), str(user.get("LAST_NAME") or "")) if part) or (
        str(user.get("EMAIL") or ""))


def _field_label(row: dict) -> str:
    label = row.get("EDIT_FORM_LABEL") or row.get("LIST_COLUMN_LABEL") or ""
    if isinstance(label, dict):
        label = label.get("ru") or label.get("en") or next(iter(label.values()), "")
    return str(label or row.get("FIELD_NAME") or "")


def _user_names_remember(account_id: int, users: list[dict], seconds: int) -> dict[int, str]:
    names = {int(user["ID"]): _user_name(user) for user in users if str(user.get("ID") or "").isdigit()}
    cache.set(coordination.key("user-names", account_id), sorted(names.items()), seconds)
    return names


def crm_user_names(*, account: Account) -> dict[int, str]:
    """The portal's users (id → name), cached like amoCRM's; {} when Bitrix24 cannot tell."""
    cached = cache.get(coordination.key("user-names", account.pk))
    if cached is not None:
        return dict(cached)
    try:
        users = _client(account).call("user.get", {}) or []
    except Bitrix24Error as exc:
        logger.info("account %s: Bitrix24 users are not readable now (%s)", account.pk, exc)
        return _user_names_remember(account.pk, [], USER_NAMES_MISSING_SECONDS)
    return _user_names_remember(account.pk, [row for row in users if isinstance(row, dict)], USER_NAMES_SECONDS)
