"""One exception handler: every error leaves in the contract's body {"error": {code, message, fields}}."""
import logging
import re

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from billing.errors import ApplicationError
from widget_api.field_names import field_message
from widget_api.parsers import BodyRefused

logger = logging.getLogger(__name__)
ROW_KEY = re.compile(r"\.\d+(\.|$)")

DRF_CODES = {
    exceptions.ParseError: (400, "malformed_json"),
    exceptions.NotAuthenticated: (401, "not_authenticated"),
    exceptions.AuthenticationFailed: (401, "invalid_token"),
    exceptions.PermissionDenied: (403, "forbidden"),
    exceptions.NotFound: (404, "not_found"),
    exceptions.MethodNotAllowed: (405, "method_not_allowed"),
    exceptions.NotAcceptable: (406, "not_acceptable"),
    exceptions.UnsupportedMediaType: (415, "unsupported_media_type"),
    exceptions.Throttled: (429, "throttled"),
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field.sub": ["message"]}."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)
            flat.update(_flatten(value, f"{prefix}.{name}" if prefix and name else prefix or name))
        return flat
    if isinstance(detail, list) and detail and all(isinstance(item, str) for item in detail):
        return {prefix or "non_field_errors": [str(item) for item in detail]}
    if isinstance(detail, list):
        flat = {}
        for index, value in enumerate(detail):
            if value:
                flat.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    return {prefix or "non_field_errors": [str(detail)]}


def payload_too_large(limit: int) -> JsonResponse:
    return JsonResponse(error_body("payload_too_large", _body_too_large(limit)), status=413)


def _body_too_large(limit: int) -> str:
    return _("The request body is larger than %(limit)s bytes.") % {"limit": limit}


def _suspicious_request(exc: Exception | None) -> tuple[int, dict]:
    """Django's refusals of a request (body too big, too many fields, bad host...) in the contract's body."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return 413, error_body("payload_too_large", _body_too_large(limit))
    if isinstance(exc, TooManyFieldsSent):
        return 400, error_body("too_many_fields", _("The form has too many fields."))
    return 400, error_body("bad_request", _("The request cannot be read."))


def _row_message(exc: ApplicationError) -> str:
    """A business error about one row of a list (`items.1.due_date`) says which row, in words."""
    if len(exc.fields) == 1:
        key, messages = next(iter(exc.fields.items()))
        if ROW_KEY.search(key) and messages and messages[0] == exc.message:
            return field_message(key, exc.message)
    return exc.message


def contract_exception_handler(exc, context):
    if isinstance(exc, SuspiciousOperation):
        status, body = _suspicious_request(exc)
        return Response(body, status=status)
    if isinstance(exc, BodyRefused):
        return Response(error_body(exc.error_code, str(exc.detail), exc.fields), status=400)
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, _row_message(exc), exc.fields), status=exc.status)
    if isinstance(exc, Http404):
        return Response(error_body("not_found", _("Not found.")), status=404)
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first = next(iter(fields.items()), ("", [_("Invalid input.")]))
        # The sentence names the field in words and the row by number, never by its key (items.1.due_date).
        message = field_message(first[0], first[1][0])
        return Response(error_body("validation_error", message, fields), status=422)
    response = exception_handler(exc, context)
    if response is None:
        return None
    status, code = next(
        ((status, code) for kind, (status, code) in DRF_CODES.items() if isinstance(exc, kind)),
        (response.status_code, getattr(exc, "default_code", "error")),
    )
    code = getattr(exc, "default_code", code) if code == "forbidden" else code
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    response.data = error_body(code, str(detail))
    response.status_code = status
    return response


def json_bad_request(request, exception=None):
    """Django's handler400: SuspiciousOperation (RequestDataTooBig is answered 413) outside DRF views."""
    status, body = _suspicious_request(exception)
    return JsonResponse(body, status=status)


def json_forbidden(request, exception=None):
    message = str(exception) if isinstance(exception, PermissionDenied) and str(exception) else _("Forbidden.")
    return JsonResponse(error_body("forbidden", message), status=403)


def json_not_found(request, exception=None):
    return JsonResponse(error_body("not_found", _("Not found.")), status=404)


def json_server_error(request):
    return JsonResponse(error_body("server_error", _("Something went wrong on our side; nothing was saved.")),
                        status=500)
