"""Hostile input at every route family: never a 500, always the contract's error body, nothing stored.

Families: the widget API (JSON bodies, queries, paths, headers), CloudPayments notifications (form and
JSON), amoCRM hooks (lead hooks and the revoke hook) and Django's own handlers.
"""
import json
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.test import RequestFactory, override_settings
from rest_framework.test import APIClient

from billing.models import GatewayEvent, Payment, Schedule
from billing.untrusted import MAX_JSON_DEPTH, UntrustedInputError, json_loads_untrusted
from tests.conftest import WidgetClient, assert_error
from tests.webhooks.conftest import content_hmac
from widget_api.errors import contract_exception_handler, json_bad_request

pytestmark = pytest.mark.django_db
LEAD = 31337
PLAN = {"plan": "equal", "total": "1000.00", "installments_count": 2, "first_due_date": "2027-01-10"}
PAYMENT = {"amount": "10.00", "method": "cash", "paid_at": "2026-11-01"}

JSON_ROUTES = [
    ("post", f"/api/v1/deals/{LEAD}/schedule/preview"),
    ("put", f"/api/v1/deals/{LEAD}/schedule"),
    ("post", f"/api/v1/deals/{LEAD}/payments"),
    ("post", f"/api/v1/deals/{LEAD}/full-payment"),
    ("post", f"/api/v1/deals/{LEAD}/invoices"),
    ("put", "/api/v1/account/settings"),
    ("put", "/api/v1/account/templates/invoice"),
    ("post", "/api/v1/account/templates/invoice/preview"),
]
GET_ROUTES = [
    f"/api/v1/deals/{LEAD}",
    f"/api/v1/deals/{LEAD}/invoices",
    "/api/v1/analytics/summary",
    "/api/v1/analytics/rows?kind=overdue",
    "/api/v1/analytics/export.xlsx",
    "/api/v1/analytics/filters",
    "/api/v1/account/settings",
]


class AdminWidgetClient(WidgetClient):
    """An amoCRM administrator: account settings and templates accept writes only from one."""

    def headers(self, idempotency_key: str | None = None) -> dict:
        from widget_api.tokens import token_mint

        headers = super().headers(idempotency_key)
        headers["HTTP_X_AUTH_TOKEN"] = token_mint(account_id=self.account.crm_account_id,
                                                  subdomain=self.account.slug, user_id=self.user_id,
                                                  is_admin=True)
        return headers


@pytest.fixture
def widget(account):
    return AdminWidgetClient(account)


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def deep_object(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


HOSTILE_BODIES = {
    "nested_list_100k": (deep(100_000), "malformed_json"),
    "nested_object_50k": (deep_object(50_000), "malformed_json"),
    "nested_just_past_the_limit": (json.dumps({"total": json.loads(deep(MAX_JSON_DEPTH))}), "malformed_json"),
    "nul_in_a_value": (json.dumps({**PLAN, **PAYMENT, "comment": "a\u0000b", "group": "\u0000"}), "invalid_text"),
    "nul_in_a_key": (json.dumps({**PLAN, "\u0000": 1}), "invalid_text"),
    "lone_surrogate_in_a_value": ('{"plan": "\\ud800", "total": "1.00", "comment": "\\udfff"}', "invalid_text"),
    "lone_surrogate_in_a_key": ('{"\\udc80": 1}', "invalid_text"),
    "lone_surrogate_deep_inside": ('{"items": [{"due_date": "2027-01-01", "amount": "\\ud800"}]}', "invalid_text"),
}


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
@pytest.mark.parametrize("body_name", list(HOSTILE_BODIES))
def test_hostile_json_bodies_are_400_on_every_api_route(widget, method, path, body_name):
    body, code = HOSTILE_BODIES[body_name]
    assert_error(widget.send(method, path, body), 400, code)
    assert not Schedule.objects.exists()
    assert not Payment.objects.exists()


def test_a_body_as_deep_as_the_limit_still_parses():
    assert json_loads_untrusted(deep(MAX_JSON_DEPTH)) == json.loads(deep(MAX_JSON_DEPTH))
    with pytest.raises(UntrustedInputError):
        json_loads_untrusted(deep(MAX_JSON_DEPTH + 1))


def test_a_valid_surrogate_pair_is_a_character_not_an_error(widget):
    body = json.dumps({**PLAN, "group": "\U0001F600"}, ensure_ascii=True)
    assert "\\ud83d\\ude00" in body
    response = widget.post(f"/api/v1/deals/{LEAD}/schedule/preview", body)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("value", ["sNaN", "-sNaN", "snan", "sNaN123", "NaN", "Infinity", "-inf", "1e3", " 5", "+5",
                                   "1_000", "٣"])
def test_signalling_nan_and_other_odd_decimals_are_422(widget, value):
    assert_error(widget.post(f"/api/v1/deals/{LEAD}/schedule/preview", {**PLAN, "total": value}), 422,
                 field="total")
    widget.put(f"/api/v1/deals/{LEAD}/schedule", PLAN)
    assert_error(widget.post(f"/api/v1/deals/{LEAD}/payments", {**PAYMENT, "amount": value}), 422, field="amount")
    assert not Payment.objects.exists()


@pytest.mark.parametrize("change", [
    {"first_due_date": "9999-12-31"},
    {"first_due_date": "9999-12-01", "period": "quarter", "installments_count": 120},
    {"first_due_date": "0001-01-01"},
    {"down_payment": {"amount": "10.00", "due_date": "9999-12-31"}},
    {"down_payment": {"amount": "10.00", "due_date": "0001-01-01"}},
    {"extra_charges": [{"label": "fee", "amount": "10.00", "due_date": "9999-12-31"}]},
    {"plan": "custom", "items": [{"due_date": "9999-12-31", "amount": "1000.00"}]},
    {"plan": "custom", "items": [{"due_date": "0001-01-01", "amount": "1000.00"}]},
])
def test_dates_at_the_ends_of_the_calendar_are_422_in_plans(widget, change):
    for method, path in JSON_ROUTES[:2]:
        assert_error(widget.send(method, path, {**PLAN, **change}), 422)
    assert not Schedule.objects.exists()


@pytest.mark.parametrize("paid_at", ["0001-01-01", "9999-12-31"])
def test_dates_at_the_ends_of_the_calendar_are_422_in_payments(widget, paid_at):
    widget.put(f"/api/v1/deals/{LEAD}/schedule", PLAN)
    for path in (f"/api/v1/deals/{LEAD}/payments", f"/api/v1/deals/{LEAD}/full-payment"):
        response = widget.post(path, {**PAYMENT, "paid_at": paid_at})
        assert_error(response, 422, field="paid_at")
    assert not Payment.objects.exists()


@pytest.mark.parametrize("query", [
    "date_from=0001-01-01", "date_to=0001-01-01", "date_from=0001-01-01&date_to=0001-01-02",
    "date_from=9999-12-31", "date_to=9999-12-31", "date_from=9999-12-30&date_to=9999-12-31",
    "date_from=9999-12-31&date_to=9999-12-31",
])
@pytest.mark.parametrize("path", ["/api/v1/analytics/summary", "/api/v1/analytics/rows?kind=upcoming",
                                  "/api/v1/analytics/rows?kind=received", "/api/v1/analytics/rows?kind=overdue",
                                  "/api/v1/analytics/export.xlsx"])
def test_analytics_filters_at_the_ends_of_the_calendar_never_fail(widget, path, query):
    response = widget.client.get(f"{path}{'&' if '?' in path else '?'}{query}", **widget.headers())
    assert response.status_code in (200, 422), response.getvalue()
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")


BIG = 2**63
HUGE = 10**30


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("post", f"/api/v1/deals/{LEAD}/schedule/preview", {**PLAN, "manager_id": BIG}, "manager_id"),
    ("post", f"/api/v1/deals/{LEAD}/schedule/preview", {**PLAN, "manager_id": HUGE}, "manager_id"),
    ("put", f"/api/v1/deals/{LEAD}/schedule", {**PLAN, "installments_count": HUGE}, "installments_count"),
    ("post", f"/api/v1/deals/{LEAD}/invoices", {"installment_seq": BIG}, None),
    ("post", f"/api/v1/deals/{LEAD}/invoices", {"installment_seq": HUGE}, None),
    ("put", "/api/v1/account/settings", {"task_user_id": HUGE}, None),
])
def test_ids_beyond_bigint_in_bodies_are_4xx(widget, method, path, body, field):
    response = widget.send(method, path, body)
    assert response.status_code in (403, 404, 422), response.content
    assert_error(response, response.status_code, field=field if response.status_code == 422 else None)


@pytest.mark.parametrize("path", [
    f"/api/v1/deals/{HUGE}", f"/api/v1/deals/{BIG}", f"/api/v1/deals/{HUGE}/invoices",
    f"/api/v1/invoices/{HUGE}/pdf", f"/api/v1/invoices/{BIG}/pdf", f"/api/v1/payments/{HUGE}/receipt.pdf",
    f"/api/v1/deals/{HUGE}/documents/schedule.pdf",
])
def test_ids_beyond_bigint_in_paths_are_404(widget, path):
    assert_error(widget.client.get(path, **widget.headers()), 404)


@pytest.mark.parametrize("query", [f"manager_id={HUGE}", f"manager_id={BIG}", f"page={HUGE}", f"page_size={HUGE}",
                                   "manager_id=-1", "page=0"])
def test_ids_beyond_bigint_in_queries_are_422(widget, query):
    response = widget.client.get(f"/api/v1/analytics/rows?kind=overdue&{query}", **widget.headers())
    assert_error(response, 422, "validation_error")


@pytest.mark.parametrize("path", GET_ROUTES)
def test_nul_in_a_query_is_400_on_every_get_route(widget, path):
    response = widget.client.get(f"{path}{'&' if '?' in path else '?'}group=%00", **widget.headers())
    assert_error(response, 400, "invalid_text", field="query")


@pytest.mark.parametrize("path", [
    "/api/v1/deals/%00", "/api/v1/account/templates/%00", "/api/v1/account/templates/%00/preview",
    "/api/v1/deals/1/documents/%00.pdf", "/webhooks/cloudpayments/%00/pay", "/webhooks/cloudpayments/x/%00",
    "/amocrm/webhooks/%00", "/documents/%00", "/%00",
])
@pytest.mark.parametrize("method", ["get", "post"])
def test_nul_in_a_path_is_a_json_404(widget, path, method):
    response = getattr(widget.client, method)(path, **widget.headers())
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("header", ["HTTP_IDEMPOTENCY_KEY", "HTTP_X_AUTH_TOKEN", "HTTP_CONTENT_HMAC",
                                    "HTTP_ACCEPT_LANGUAGE"])
def test_nul_in_a_header_is_400(widget, header):
    headers = {**widget.headers(), header: "key\x00tail"}
    response = widget.client.put(f"/api/v1/deals/{LEAD}/schedule", json.dumps(PLAN),
                                 content_type="application/json", **headers)
    assert_error(response, 400, "invalid_text")
    assert not Schedule.objects.exists()


# --- oversized bodies --------------------------------------------------------------------------------

OVERSIZED = b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_an_oversized_api_body_is_413_in_the_contract_format(widget, method, path):
    response = widget.send(method, path, OVERSIZED)
    assert_error(response, 413, "payload_too_large")


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
@pytest.mark.parametrize("path", ["/webhooks/cloudpayments/{key}/pay", "/webhooks/cloudpayments/{key}/check",
                                  "/amocrm/oauth/revoked"])
def test_an_oversized_webhook_body_is_413(account, path, content_type):
    response = APIClient().post(path.format(key=account.webhook_key), OVERSIZED, content_type=content_type)
    assert_error(response, 413, "payload_too_large")
    assert not GatewayEvent.objects.exists()


@override_settings(PAYPLAN_HOOK_MAX_BYTES=1000)
def test_an_amocrm_hook_over_its_own_limit_is_413(account):
    response = APIClient().post(f"/amocrm/webhooks/{account.webhook_key}", b"leads[update][0][id]=1&" * 100,
                                content_type="application/x-www-form-urlencoded")
    assert_error(response, 413, "payload_too_large")


WITHOUT_GATE = [name for name in settings.MIDDLEWARE if name != "widget_api.middleware.HostileInputMiddleware"]


@override_settings(MIDDLEWARE=WITHOUT_GATE)
@pytest.mark.parametrize("path", ["/webhooks/cloudpayments/{key}/pay", "/amocrm/oauth/revoked"])
def test_django_refusing_a_big_body_still_answers_413_json(account, path):
    """Behind the Content-Length gate, Django's own RequestDataTooBig is turned into the same 413."""
    response = APIClient().post(path.format(key=account.webhook_key), OVERSIZED,
                                content_type="application/x-www-form-urlencoded")
    assert_error(response, 413, "payload_too_large")


@override_settings(MIDDLEWARE=WITHOUT_GATE)
def test_drf_refusing_a_big_body_still_answers_413_json(widget):
    assert_error(widget.put(f"/api/v1/deals/{LEAD}/schedule", OVERSIZED), 413, "payload_too_large")


def test_the_handlers_turn_djangos_refusals_into_the_contract():
    request = RequestFactory().post("/webhooks/cloudpayments/x/pay")
    too_big = json_bad_request(request, RequestDataTooBig("big"))
    assert too_big.status_code == 413
    assert json.loads(too_big.content)["error"]["code"] == "payload_too_large"
    too_many = json_bad_request(request, TooManyFieldsSent("many"))
    assert too_many.status_code == 400
    assert json.loads(too_many.content)["error"]["code"] == "too_many_fields"
    assert contract_exception_handler(RequestDataTooBig("big"), {}).status_code == 413


@override_settings(MIDDLEWARE=WITHOUT_GATE)
def test_too_many_form_fields_on_the_revoke_hook_is_a_json_400():
    body = urlencode([(f"f{index}", "1") for index in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)])
    response = APIClient().post("/amocrm/oauth/revoked", body, content_type="application/x-www-form-urlencoded")
    assert_error(response, 400, "too_many_fields")


# --- CloudPayments ---------------------------------------------------------------------------------

def _notify(account, kind: str, body: bytes, content_type: str, *, signed: bool):
    headers = {"HTTP_CONTENT_HMAC": content_hmac(account.cloudpayments_api_secret, body)} if signed else {}
    return APIClient().post(f"/webhooks/cloudpayments/{account.webhook_key}/{kind}", body,
                            content_type=content_type, **headers)


CLOUDPAYMENTS_HOSTILE = {
    "form_nul_transaction_id": (b"TransactionId=1%002&Amount=10.00", "application/x-www-form-urlencoded"),
    "form_nul_key": (b"Transaction%00Id=1&Amount=10.00", "application/x-www-form-urlencoded"),
    "form_broken_utf8": (b"TransactionId=%ED%A0%80&Amount=10.00", "application/x-www-form-urlencoded"),
    "form_snan_amount": (b"TransactionId=5&Amount=sNaN", "application/x-www-form-urlencoded"),
    "form_huge_ids": (b"TransactionId=99999999999999999999999&Amount=10.00&InvoiceId=999999999999999999999999",
                      "application/x-www-form-urlencoded"),
    "json_nul_transaction_id": (b'{"TransactionId": "1\\u00002", "Amount": "10.00"}', "application/json"),
    "json_surrogate_transaction_id": (b'{"TransactionId": "\\ud800", "Amount": "10.00"}', "application/json"),
    "json_surrogate_key": (b'{"\\udfff": "1", "TransactionId": "7", "Amount": "10.00"}', "application/json"),
    "json_nested_100k": (deep(100_000).encode(), "application/json"),
    "json_nested_object": (('{"TransactionId": "8", "Data": ' + deep_object(5000) + "}").encode(), "application/json"),
    "json_snan_amount": (b'{"TransactionId": "9", "Amount": "sNaN"}', "application/json"),
    "too_many_form_fields": ("&".join(f"f{index}=1" for index in range(5000)).encode(),
                             "application/x-www-form-urlencoded"),
}


@pytest.mark.parametrize("kind", ["pay", "check", "refund", "recurrent"])
@pytest.mark.parametrize("name", list(CLOUDPAYMENTS_HOSTILE))
def test_hostile_unsigned_notifications_are_401_and_stored_clean(account, kind, name):
    body, content_type = CLOUDPAYMENTS_HOSTILE[name]
    response = _notify(account, kind, body, content_type, signed=False)
    assert response.status_code == 401, response.content
    event = GatewayEvent.objects.get()
    assert event.status == GatewayEvent.Status.REJECTED
    assert "\x00" not in event.transaction_id
    event.transaction_id.encode("utf-8")
    assert not Payment.objects.exists()


@pytest.mark.parametrize("kind", ["pay", "check"])
@pytest.mark.parametrize("name", list(CLOUDPAYMENTS_HOSTILE))
def test_hostile_signed_notifications_are_refused_not_500(account, kind, name):
    body, content_type = CLOUDPAYMENTS_HOSTILE[name]
    response = _notify(account, kind, body, content_type, signed=True)
    assert response.status_code in (200, 400), response.content
    assert response.json()["code"] != 0
    assert not Payment.objects.exists()


def test_an_unsigned_transaction_id_is_stored_without_nul(account):
    _notify(account, "pay", b"TransactionId=12%0034&Amount=10.00", "application/x-www-form-urlencoded", signed=False)
    assert GatewayEvent.objects.get().transaction_id in ("", "1234")


def test_the_lenient_transaction_id_keeps_only_printable_ascii():
    from billing.gateway.cloudpayments_notifications import transaction_id_of

    assert transaction_id_of("pay", {"TransactionId": "12\x0034\ud800\u200b"}) == "1234"
    assert transaction_id_of("recurrent", {"Id": "sc_\x00" + "9" * 100}) == "sc_" + "9" * 61


# --- amoCRM hooks ----------------------------------------------------------------------------------

def test_a_bulk_lead_hook_with_thousands_of_fields_is_accepted(account):
    from billing.models import Deal

    Deal.objects.create(account=account, external_id=4999, name="known")
    pairs = []
    for index in range(5000):
        pairs += [(f"leads[status][{index}][id]", index), (f"leads[status][{index}][status_id]", 142),
                  (f"leads[status][{index}][pipeline_id]", 7), (f"leads[status][{index}][old_status_id]", 141)]
    body = urlencode([*pairs, ("account[id]", account.crm_account_id), ("account[subdomain]", "school")])
    assert body.count("&") > settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    response = APIClient().post(f"/amocrm/webhooks/{account.webhook_key}", body,
                                content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.content
    assert response.json() == {"ok": True, "queued": 1}


@pytest.mark.parametrize("body", [
    b"leads[status][0][id]=%00&account[id]=%00", b"leads[status][0][id]=%ED%A0%80",
    b"leads[delete][0][id]=" + b"9" * 40,
    b"leads[status][0][id]=%D9%A3", b"\xff\xfe", deep(100_000).encode(),
])
def test_hostile_lead_hooks_are_never_a_500(account, body):
    response = APIClient().post(f"/amocrm/webhooks/{account.webhook_key}", body,
                                content_type="application/x-www-form-urlencoded")
    assert response.status_code in (200, 400), response.content
    assert set(response.json()) <= {"ok", "queued", "error"}


@pytest.mark.parametrize(("body", "content_type"), [
    (deep(100_000), "application/json"),
    (deep_object(50_000), "application/json"),
    ('{"account_id": "1\\u0000", "client_uuid": "\\ud800", "signature": "\\u0000"}', "application/json"),
    ("account_id=%00&client_uuid=%00&signature=%00", "application/x-www-form-urlencoded"),
    ("account_id=1&client_uuid={client_id}&signature=%C3%A9", "application/x-www-form-urlencoded"),
    ('{"account_id": "1", "client_uuid": "{client_id}", "signature": "\\u00e9"}', "application/json"),
    ('{"account_id": "\\ud800", "client_uuid": "{client_id}", "signature": "ab"}', "application/json"),
])
def test_hostile_revoke_hooks_are_403_not_500(body, content_type):
    body = body.replace("{client_id}", settings.AMOCRM_CLIENT_ID)
    response = APIClient().post("/amocrm/oauth/revoked", body, content_type=content_type)
    assert_error(response, 403, "bad_signature")


# --- Django's own answers --------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "status"), [
    ("get", "/webhooks/cloudpayments/x/pay", 405),
    ("get", "/amocrm/webhooks/x", 405),
    ("put", "/amocrm/oauth/revoked", 405),
    ("get", "/api/v1/nowhere", 404),
    ("get", "/webhooks/nowhere", 404),
])
def test_djangos_own_answers_use_the_contract_body(method, path, status):
    assert_error(getattr(APIClient(), method)(path), status)


@pytest.mark.parametrize(("body", "content_type"), [
    (b"TransactionId=1%002", "application/x-www-form-urlencoded"),
    (b"Name=%00", "application/x-www-form-urlencoded"),
    (b'{"Name": "\\u0000"}', "application/json"),
    (b'{"Name": "\\ud800"}', "application/json"),
    (deep(100).encode(), "application/json"),
])
def test_notification_fields_never_carry_text_postgresql_cannot_store(body, content_type):
    from billing.gateway.cloudpayments_notifications import NotificationInvalid, body_fields

    with pytest.raises(NotificationInvalid):
        body_fields(body, content_type)


# --- the OpenAPI schema ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_every_operation_declares_the_error_envelope(schema):
    assert "ErrorEnvelope" in schema["components"]["schemas"]
    for path, method, operation in _operations(schema):
        for status in ("400", "401", "403", "404", "413"):
            content = operation["responses"][status]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}, (path, method, status)
        if "requestBody" in operation:
            assert {"415", "422"} <= set(operation["responses"]), (path, method)
        if any(parameter["name"] == "Idempotency-Key" for parameter in operation.get("parameters", [])):
            assert "409" in operation["responses"], (path, method)


def test_money_is_declared_as_the_strings_the_api_returns_and_takes(schema):
    components = schema["components"]["schemas"]
    assert components["PaymentOutput"]["properties"]["amount"]["pattern"] == r"^-?\d+\.\d{2}$"
    amount_in = components["OfflinePaymentInputRequest"]["properties"]["amount"]
    assert {"type": "number"} in amount_in["oneOf"]
    assert any(option.get("pattern") == r"^-?\d{1,12}(\.\d{1,2})?$" for option in amount_in["oneOf"])


def test_optional_query_parameters_may_be_sent_empty(schema):
    operation = schema["paths"]["/api/v1/analytics/summary"]["get"]
    group = next(parameter for parameter in operation["parameters"] if parameter["name"] == "group")
    assert group["allowEmptyValue"] is True


@pytest.mark.parametrize("path", ["/api/v1/analytics/summary?group=", "/api/v1/analytics/export.xlsx?kind="])
def test_an_empty_optional_query_parameter_counts_as_not_sent(widget, path):
    assert widget.client.get(path, **widget.headers()).status_code == 200


def test_every_money_string_the_api_returns_matches_the_published_pattern(widget):
    import re

    widget.put(f"/api/v1/deals/{LEAD}/schedule", PLAN)
    body = widget.get(f"/api/v1/deals/{LEAD}").json()
    amounts = [body["total"], body["paid"], body["debt"],
               *(line["amount"] for line in body["schedule"]["installments"])]
    assert all(re.fullmatch(r"-?\d+\.\d{2}", amount) for amount in amounts), amounts
