"""JSON parsing that keeps money exact: numbers become Decimal, NaN/Infinity are refused, and so are
deep nesting, NUL and lone surrogates (billing.untrusted), so no view ever sees text it cannot store."""
from decimal import Decimal

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from billing.untrusted import UntrustedInputError, json_loads_untrusted
from widget_api.field_names import field_message


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a valid JSON number")


class BodyRefused(ParseError):
    """A 400 that names the offending field; the exception handler keeps `code` and `fields`."""

    def __init__(self, code: str, message: str, fields: dict[str, list[str]]) -> None:
        super().__init__(message, code=code)
        self.error_code = code
        self.fields = fields


class DecimalJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(_("The body is not valid JSON.")) from exc
        try:
            return json_loads_untrusted(text, parse_float=Decimal, parse_constant=_refuse_constant)
        except UntrustedInputError as exc:
            message = _refusal_message(exc)
            raise BodyRefused(exc.code, field_message(exc.field, message),
                              {exc.field: [message]} if exc.field else {}) from exc


def _refusal_message(exc: UntrustedInputError) -> str:
    """billing.untrusted speaks English to logs and webhooks; the manager reads the catalogue's words."""
    if exc.code == "invalid_text":
        return _("The text holds a NUL character or broken Unicode, which cannot be stored.")
    if "nested" in exc.message:
        return _("The JSON body is nested too deeply.")
    return _("The body is not valid JSON.")
