"""What the settings page offers to pick from, read live from the account's amoCRM."""
import logging

from billing.errors import ApplicationError
from billing.models import Account
from widget_api.amocrm.client import AmoCrmClient
from widget_api.amocrm.errors import CrmError, CrmReinstallNeeded, CrmRejected
from widget_api.amocrm.fields import lead_field, lead_field_rows, suggested_field_ids

logger = logging.getLogger(__name__)

# The settings page is interactive: wait a little for the budget, never as long as a worker would.
INTERACTIVE_WAIT_SECONDS = 10.0


def crm_options_get(*, account: Account) -> dict:
    """Pipelines with their stages, users and lead custom fields; amoCRM's trouble as ApplicationError."""
    try:
        return _options(AmoCrmClient.for_account(account, max_wait=INTERACTIVE_WAIT_SECONDS))
    except CrmReinstallNeeded as exc:
        raise ApplicationError("crm_not_connected", exc.message, status=409) from exc
    except CrmRejected as exc:
        raise ApplicationError("crm_refused", f"amoCRM refused the request: {exc.message}", status=502) from exc
    except CrmError as exc:
        raise ApplicationError("crm_unavailable", f"amoCRM cannot be reached now: {exc.message}",
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
