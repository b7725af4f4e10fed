"""Fuzzing [I]: signed CloudPayments notifications with hypothesis-made fields, and schedule requests with
hypothesis-made JSON, never answer 500; whatever is refused writes no money row (the raw notification itself
is stored by design), and a notification records at most one payment."""
import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import Allocation, Payment, Schedule
from tests.webhooks.conftest import content_hmac, pay_fields

pytestmark = pytest.mark.django_db
FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

odd_text = st.one_of(st.text(max_size=40), st.sampled_from(["", " ", "0", "-1", "1e309", "NaN", "Infinity",
                                                            "10000.001", "9" * 40, "1,5", "０", "\u202e1"]))
amounts = st.one_of(st.decimals(min_value=-10**6, max_value=10**15, allow_nan=False, places=2).map(str), odd_text)
fields_change = st.fixed_dictionaries({}, optional={
    "Amount": amounts, "Currency": st.sampled_from(["RUB", "USD", "", "rub"]) | odd_text,
    "TransactionId": st.integers(min_value=-2**70, max_value=2**70).map(str) | odd_text,
    "DateTime": st.sampled_from(["2026-11-24 10:15:00", "2026-13-45 99:99:99", "", "24.11.2026"]) | odd_text,
    "Status": st.sampled_from(["Completed", "Authorized", "Declined", ""]) | odd_text,
    "InvoiceId": odd_text, "AccountId": odd_text, "TestMode": st.sampled_from(["0", "1", "true", ""]) | odd_text,
    "Data": st.sampled_from(['{"a":1}', "{", "[]", "null", ""]) | odd_text, "Token": odd_text,
    "CardLastFour": odd_text, "Email": odd_text, "Name": odd_text,
})
dropped = st.lists(st.sampled_from(["Amount", "TransactionId", "InvoiceId", "Currency", "DateTime", "Status"]),
                   max_size=3)


def _post(notifier, kind: str, fields: dict, as_json: bool):
    if as_json:
        body, content_type = json.dumps(fields).encode(), "application/json"
    else:
        body, content_type = urlencode(fields).encode(), "application/x-www-form-urlencoded"
    return notifier.client.post(f"/webhooks/cloudpayments/{notifier.account.webhook_key}/{kind}", body,
                                content_type=content_type,
                                HTTP_CONTENT_HMAC=content_hmac(notifier.account.cloudpayments_api_secret, body))


@FUZZ
@given(kind=st.sampled_from(["pay", "check", "confirm", "fail", "refund", "cancel"]), change=fields_change,
       drop=dropped, as_json=st.booleans())
def test_signed_notifications_with_odd_fields_never_500_and_refusals_write_no_money(
        notifier, invoiced, kind, change, drop, as_json):
    fields = {**pay_fields(invoiced), **change}
    for name in drop:
        fields.pop(name, None)
    payments, allocations = Payment.objects.count(), Allocation.objects.count()
    response = _post(notifier, kind, fields, as_json)
    assert response.status_code < 500, response.content
    written = Payment.objects.count() - payments
    if response.status_code != 200 or response.json() != {"code": 0}:
        assert written == 0
        assert Allocation.objects.count() == allocations
    assert written <= 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**20, max_value=10**20) | odd_text
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12)
plan_fields = st.fixed_dictionaries({}, optional={
    "plan": st.sampled_from(["equal", "custom", "full", "recurring", "school", ""]) | json_values,
    "total": amounts | json_values, "installments_count": st.integers(min_value=-5, max_value=10**6) | json_values,
    "first_due_date": st.dates().map(str) | odd_text | json_values,
    "period": st.sampled_from(["month", "week", "quarter", "day"]) | json_values,
    "due_day": st.integers(min_value=-40, max_value=40) | json_values, "lines": json_values,
    "manager_id": st.integers(min_value=-2**70, max_value=2**70) | json_values, "already_paid": amounts | json_values,
})


@FUZZ
@given(body=plan_fields)
def test_schedule_requests_with_odd_json_never_500_and_refusals_write_no_plan(widget, body):
    versions = Schedule.objects.count()
    response = widget.put("/api/v1/deals/4242/schedule", body)
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert Schedule.objects.count() == versions
