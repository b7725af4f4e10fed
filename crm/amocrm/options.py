"""What the settings page offers to pick from, read live from the account's amoCRM."""
import logging

from django.core.cache import cache
from django.utils.translation import gettext

from billing.errors import ApplicationError
from billing.models import Account
from crm import coordination
from crm.amocrm.client import AmoCrmClient
from crm.amocrm.errors import CrmError, CrmReinstallNeeded, CrmRejected
from crm.amocrm.fields import lead_field, lead_field_rows, suggested_field_ids

logger = logging.getLogger(__name__)

# The settings page is interactive: wait a little for the budget, never as long as a worker would.
INTERACTIVE_WAIT_SECONDS = 10.0
USER_NAMES_SECONDS = 3600
USER_NAMES_MISSING_SECONDS = 300  # amoCRM could not tell: ask again after a while, not on every export


def crm_options_get(*, account: Account) -> dict:
    """Pipelines with their stages, users and lead custom fields; amoCRM's trouble as ApplicationError."""
    try:
        return _options(AmoCrmClient.for_account(account, max_wait=INTERACTIVE_WAIT_SECONDS))
    except CrmReinstallNeeded as exc:
        raise ApplicationError("crm_not_connected", gettext(
            "PayPlan has lost its access to amoCRM: reinstall the integration."), status=409) from exc
    except CrmRejected as exc:
        logger.warning("amoCRM refused the options request: %s", exc.message)
        raise ApplicationError("crm_refused", gettext("amoCRM refused the request; try again later."),
                               status=502) from exc
    except CrmError as exc:
        logger.warning("amoCRM cannot be reached for options: %s", exc.message)
        raise ApplicationError("crm_unavailable", gettext("amoCRM cannot be reached now; try again in a minute."),
                               status=503) from exc


def _options(client: AmoCrmClient) -> dict:
    warnings = []
    pipelines = ((client.get("/api/v4/leads/pipelines") or {}).get("_embedded") or {}).get("pipelines") or []
    try:
        users = list(client.pages("/api/v4/users", "users"))
    except CrmRejected as exc:
        # The installing user is not an administrator: users can still be typed in by id.
        users = []
        warnings.append(f"users: {exc.message}")
    else:
        _user_names_remember(client.account_id, users, USER_NAMES_SECONDS)
    fields = lead_field_rows(client, fresh=True)
    return {
        "pipelines": [_pipeline(pipeline) for pipeline in pipelines],
        "users": [_user(user) for user in users],
        "lead_fields": [_lead_field(row) for row in fields],
        "suggested_custom_fields": suggested_field_ids({field.id: field for field in map(lead_field, fields)}),
        "warnings": warnings,
    }


def _pipeline(pipeline: dict) -> dict:
    statuses = (pipeline.get("_embedded") or {}).get("statuses") or []
    return {"id": pipeline["id"], "name": pipeline.get("name", ""), "is_main": bool(pipeline.get("is_main")),
            "statuses": [{"id": status["id"], "name": status.get("name", ""), "sort": status.get("sort", 0),
                          "color": status.get("color") or ""} for status in statuses]}


def _user(user: dict) -> dict:
    rights = user.get("rights") or {}
    return {"id": user["id"], "name": user.get("name", ""), "email": user.get("email") or "",
            "is_admin": bool(rights.get("is_admin")), "is_active": bool(rights.get("is_active", True))}


def _lead_field(row: dict) -> dict:
    return {"id": row["id"], "name": row.get("name", ""), "type": row.get("type", ""), "code": row.get("code") or "",
            "enums": [{"id": enum["id"], "value": enum.get("value", "")} for enum in row.get("enums") or []]}


def _user_names_remember(account_id: int, users: list[dict], seconds: int) -> dict[int, str]:
    names = {int(user["id"]): str(user.get("name") or "") for user in users if user.get("id")}
    cache.set(coordination.key("user-names", account_id), sorted(names.items()), seconds)
    return names


def crm_user_names(*, account: Account) -> dict[int, str]:
    """The account's CRM users (id → name) from the cache the settings page fills, read from amoCRM once
    when it is empty; {} when amoCRM cannot tell (callers fall back to «Менеджер #id»)."""
    cached = cache.get(coordination.key("user-names", account.pk))
    if cached is not None:
        return dict(cached)
    try:
        client = AmoCrmClient.for_account(account, max_wait=INTERACTIVE_WAIT_SECONDS)
        users = list(client.pages("/api/v4/users", "users"))
    except CrmError as exc:
        logger.info("account %s: CRM users are not readable now (%s)", account.pk, exc.message)
        return _user_names_remember(account.pk, [], USER_NAMES_MISSING_SECONDS)
    return _user_names_remember(account.pk, users, USER_NAMES_SECONDS)
