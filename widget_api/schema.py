"""What the OpenAPI schema says beyond the serializers: the error envelope on every operation and money
as the strings PayPlan really returns (and the strings or numbers it really takes)."""
from drf_spectacular.extensions import OpenApiSerializerFieldExtension

ERROR_COMPONENT = "ErrorEnvelope"
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error, whatever the status (widget-api.md).",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "pattern": "^[a-z0-9_]+$", "example": "validation_error"},
                "message": {"type": "string", "example": "total: A valid number is required."},
                "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
        }
    },
}

# Money out: always a string with two decimals. Money in: such a string (decimals optional) or a JSON number.
MONEY_OUT = {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "example": "25000.00"}
MONEY_IN_STRING = {"type": "string", "pattern": r"^-?\d{1,12}(\.\d{1,2})?$", "example": "25000.00"}
MONEY_IN = {"oneOf": [MONEY_IN_STRING, {"type": "number"}]}

ERRORS = {
    400: "Malformed JSON, a NUL or lone surrogate in the text, nesting too deep, an unreadable request.",
    401: "No, invalid or expired X-Auth-Token.",
    403: "The token is valid but not allowed (not an admin, PayPlan not installed for the account).",
    404: "Unknown deal, invoice, payment, template kind or route for this account.",
    409: "The Idempotency-Key was used with another body, or the plan changed meanwhile.",
    413: "The request body is larger than the limit.",
    415: "The body is not JSON.",
    422: "Valid JSON that breaks a rule; fields names each offending field.",
    502: "amoCRM refused the request.",
    503: "amoCRM cannot be reached now.",
}
# Statuses only some operations answer, by operation id.
EXTRA_STATUSES = {
    "account_crm_options": {409: "amoCRM is not connected for this account (reinstall needed).", 502: None, 503: None},
    "payment_refund": {503: "CloudPayments did not answer (gateway_unavailable): the outcome is unknown, the "
                            "Refund notification will settle it; do not repeat before then."},
}


class MoneyFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "widget_api.api.fields.MoneyField"

    def map_serializer_field(self, auto_schema, direction):
        return dict(MONEY_IN if direction == "request" else MONEY_OUT)


def _statuses(operation: dict) -> list[int]:
    statuses = [400, 401, 403, 404, 413]
    parameters = operation.get("parameters", [])
    if "requestBody" in operation:
        statuses += [415, 422]
    elif any(parameter.get("in") == "query" for parameter in parameters):
        statuses.append(422)
    if any(parameter.get("name") == "Idempotency-Key" for parameter in parameters):
        statuses.append(409)
    return sorted(set(statuses))


def _error_response(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def error_responses_hook(result, generator, request, public):
    """drf-spectacular postprocessing hook: the error envelope as a component, declared on every operation;
    an optional query parameter sent empty counts as not sent (DRF's form semantics), so the schema says so."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status in _statuses(operation):
                operation["responses"].setdefault(str(status), _error_response(ERRORS[status]))
            for status, description in EXTRA_STATUSES.get(operation.get("operationId"), {}).items():
                operation["responses"].setdefault(str(status), _error_response(description or ERRORS[status]))
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
    return result
