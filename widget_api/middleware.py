"""The first gate of every request: refuse what no view can take before any view (or the database) sees it.

A path, query or header holding NUL cannot name anything PayPlan stores (PostgreSQL text refuses NUL),
and a body over the limit is refused from its Content-Length before a byte of it is read.
"""
from django.conf import settings
from django.http import JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _

from widget_api.errors import error_body, payload_too_large

# amoCRM sends bulk hooks (thousands of leads at once) as one form: those paths get a larger body limit
# and are parsed by their view with a bounded parser (crm.amocrm.hooks.hook_form_parse).
LARGE_BODY_PREFIXES = ("/amocrm/webhooks/",)
DRAIN_MAX_BYTES = 64 * 1024 * 1024


def body_limit(path: str) -> int:
    if path.startswith(LARGE_BODY_PREFIXES):
        return settings.PAYPLAN_HOOK_MAX_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _declared_length(request) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


class HostileInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # This gate runs before LocaleMiddleware: its refusals speak the language the request asks for.
        with translation.override(translation.get_language_from_request(request)):
            refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        response = self.get_response(request)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/json"):
            return self._method_not_allowed(request, response)
        return response

    def _method_not_allowed(self, request, response):
        with translation.override(translation.get_language_from_request(request)):
            # require_POST and friends answer an empty text/html 405: the contract's body instead.
            allowed = response.get("Allow", "")
            response = JsonResponse(error_body("method_not_allowed", _("Method %(method)s is not allowed.")
                                               % {"method": request.method}), status=405)
            response["Allow"] = allowed
        return response

    def _refusal(self, request) -> JsonResponse | None:
        if "\x00" in request.path:
            return JsonResponse(error_body("not_found", _("Not found.")), status=404)
        if any("\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values):
            return JsonResponse(error_body("invalid_text", _("The query contains a NUL character."),
                                           {"query": [_("NUL characters are not allowed.")]}), status=400)
        bad_header = next((name for name, value in request.META.items()
                           if isinstance(value, str) and "\x00" in value), None)
        if bad_header is not None:
            header = bad_header.removeprefix("HTTP_").replace("_", "-").title()
            return JsonResponse(error_body("invalid_text",
                                           _("The %(header)s header contains a NUL character.") % {"header": header},
                                           {header: [_("NUL characters are not allowed.")]}), status=400)
        length = _declared_length(request)
        if length is None:
            return JsonResponse(error_body("bad_request", _("Content-Length is not a number.")), status=400)
        limit = body_limit(request.path)
        if length > limit:
            _drain(request, length)
            return payload_too_large(limit)
        return None


def _drain(request, length: int) -> None:
    """Read (and drop) a moderately oversized body, so the client, still sending, gets to read the 413
    instead of a reset connection; a huge one is not worth the bandwidth and the server closes on it."""
    if length > DRAIN_MAX_BYTES:
        return
    while request.read(64 * 1024):
        pass
