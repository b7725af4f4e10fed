"""/api/v4/webhooks: account-level webhook subscriptions (destinations must be loopback in the sandbox)."""

from __future__ import annotations

from .calls import ApiCall, listing
from .http_io import FieldErrors, Response, hal, no_content, not_found, validation_problem
from .models import Webhook
from .outbound import is_loopback_url
from .render import webhook_json

WEBHOOK_SETTINGS = {"add_lead", "update_lead", "delete_lead", "restore_lead", "status_lead", "responsible_lead",
                    "note_lead", "add_contact", "update_contact", "delete_contact", "add_task", "update_task",
                    "delete_task", "add_talk", "add_message"}


def webhook_subscribe(call: ApiCall) -> Response:
    body = call.request.payload()
    body = body if isinstance(body, dict) else {}
    destination, settings, sort = body.get("destination"), body.get("settings"), body.get("sort", 10)
    errors = FieldErrors()
    if not is_loopback_url(destination):
        # The sandbox must never call out of the machine, so only loopback destinations are accepted.
        errors.add("InvalidUrl", "destination", "The sandbox delivers webhooks to loopback URLs only.")
    if not isinstance(settings, list) or not settings or not all(
            isinstance(setting, str) and setting in WEBHOOK_SETTINGS for setting in settings):
        errors.add("NotSupportedChoice", "settings", "The value you selected is not a valid choice.")
    if not isinstance(sort, int) or isinstance(sort, bool):
        errors.add("InvalidType", "sort", "This value should be of type int.")
    if errors:
        raise validation_problem([{"request_id": "0", "errors": errors}])
    hook = _find(call, destination)
    if hook is None:
        hook = Webhook(call.account.next_id("webhook"), destination, [], sort, call.user_id, call.now)
        call.account.webhooks[hook.id] = hook
    hook.settings, hook.sort = list(settings), sort
    return hal(webhook_json(call.account, hook))


def webhooks_list(call: ApiCall) -> Response:
    wanted = call.request.arg("filter[destination]")
    hooks = [hook for _, hook in sorted(call.account.webhooks.items())
             if wanted is None or hook.destination == wanted]
    return listing(call, "webhooks", [webhook_json(call.account, hook) for hook in hooks])


def webhook_unsubscribe(call: ApiCall) -> Response:
    body = call.request.payload()
    hook = _find(call, body.get("destination") if isinstance(body, dict) else None)
    if hook is None:
        raise not_found("Webhook not found")
    del call.account.webhooks[hook.id]
    return no_content()


def _find(call: ApiCall, destination: object) -> Webhook | None:
    return next((hook for hook in call.account.webhooks.values() if hook.destination == destination), None)


ROUTES = [
    ("POST", "/api/v4/webhooks", webhook_subscribe),
    ("GET", "/api/v4/webhooks", webhooks_list),
    ("DELETE", "/api/v4/webhooks", webhook_unsubscribe),
]
