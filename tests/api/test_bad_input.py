"""Bad input: always the contract's error body naming the field, never a 500, nothing half-written."""
import pytest

from billing.models import DomainEvent, Installment, Payment, Schedule
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db
LEAD = 31337
VALID = {"plan": "equal", "total": "1000.00", "installments_count": 2, "first_due_date": "2027-01-10"}


@pytest.mark.parametrize(("change", "field"), [
    ({"plan": "weekly"}, "plan"),
    ({"plan": None}, "plan"),
    ({"total": "abc"}, "total"),
    ({"total": "-5.00"}, "total"),
    ({"total": "0"}, "total"),
    ({"total": "1.001"}, "total"),
    ({"total": "1e400"}, "total"),
    ({"total": "99999999999999999999.00"}, "total"),
    ({"total": "NaN"}, "total"),
    ({"total": True}, "total"),
    ({"total": [1]}, "total"),
    ({"already_paid": "1000.00"}, "already_paid"),
    ({"already_paid": "-1"}, "already_paid"),
    ({"installments_count": 0}, "installments_count"),
    ({"installments_count": 121}, "installments_count"),
    ({"installments_count": "many"}, "installments_count"),
    ({"installments_count": 2, "installment_amount": "100.00"}, "installments_count"),
    ({"installments_count": None}, "installments_count"),
    ({"first_due_date": "2027-02-30"}, "first_due_date"),
    ({"first_due_date": "tomorrow"}, "first_due_date"),
    ({"first_due_date": "1899-01-01"}, "first_due_date"),
    ({"first_due_date": "9999-12-31"}, "first_due_date"),
    ({"first_due_date": None}, "first_due_date"),
    ({"period": "fortnight"}, "period"),
    ({"due_day": 32}, "due_day"),
    ({"due_day": "first"}, "due_day"),
    ({"rounding": "5"}, "rounding"),
    ({"direction": "sideways"}, "direction"),
    ({"down_payment": {"amount": "1000.00"}}, "down_payment"),
    ({"down_payment": {"amount": "-1"}}, "down_payment.amount"),
    ({"down_payment": "lots"}, "down_payment"),
    ({"extra_charges": [{"label": "fee", "amount": "0"}]}, "extra_charges.0.amount"),
    ({"extra_charges": "fee"}, "extra_charges"),
    ({"plan": "custom", "items": [{"due_date": "2027-01-01", "amount": "999.00"}]}, "items"),
    ({"plan": "custom", "items": []}, "items"),
    ({"plan": "custom", "items": [{"due_date": "2027-01-02", "amount": "500.00"},
                                 {"due_date": "2027-01-01", "amount": "500.00"}]}, "items.1.due_date"),
    ({"manager_id": "boss"}, "manager_id"),
    ({"group": "x" * 300}, "group"),
])
def test_impossible_plans_are_422_naming_the_field(widget, change, field):
    body = {**VALID, **change}
    for method, path in (("post", f"/api/v1/deals/{LEAD}/schedule/preview"),
                         ("put", f"/api/v1/deals/{LEAD}/schedule")):
        assert_error(widget.send(method, path, body), 422, field=field)
    assert not Schedule.objects.exists()
    assert not Installment.objects.exists()
    assert not DomainEvent.objects.exists()


@pytest.mark.parametrize("raw", ["{", "[1, 2", "not json", '{"total": NaN}', '{"total": Infinity}', b"\xff\xfe{"])
def test_malformed_json_is_400(widget, raw):
    assert_error(widget.put(f"/api/v1/deals/{LEAD}/schedule", raw), 400, "malformed_json")


def test_a_json_array_body_is_422(widget):
    assert_error(widget.put(f"/api/v1/deals/{LEAD}/schedule", [VALID]), 422)


@pytest.mark.parametrize(("body", "field"), [
    ({"amount": "0", "method": "cash", "paid_at": "2026-11-20"}, "amount"),
    ({"amount": "-10", "method": "cash", "paid_at": "2026-11-20"}, "amount"),
    ({"amount": "ten", "method": "cash", "paid_at": "2026-11-20"}, "amount"),
    ({"amount": "10.001", "method": "cash", "paid_at": "2026-11-20"}, "amount"),
    ({"amount": "10", "method": "barter", "paid_at": "2026-11-20"}, "method"),
    ({"amount": "10", "method": "cloudpayments", "paid_at": "2026-11-20"}, "method"),
    ({"amount": "10", "method": "cash", "paid_at": "20.11.2026"}, "paid_at"),
    ({"amount": "10", "method": "cash", "paid_at": "3026-11-20"}, "paid_at"),
    ({"amount": "10", "method": "cash"}, "paid_at"),
    ({"method": "cash", "paid_at": "2026-11-20"}, "amount"),
])
def test_bad_offline_payments_are_422_and_record_nothing(widget, body, field):
    widget.put(f"/api/v1/deals/{LEAD}/schedule", VALID)
    assert_error(widget.post(f"/api/v1/deals/{LEAD}/payments", body), 422, field=field)
    assert not Payment.objects.exists()


@pytest.mark.parametrize("path", ["/api/v1/deals/abc", "/api/v1/deals/-1", "/api/v1/deals/0",
                                  "/api/v1/deals/99999999999999999999999", "/api/v1/nowhere"])
def test_unknown_or_absurd_deal_ids_are_404(widget, path):
    assert_error(widget.get(path), 404)


def test_wrong_method_is_405_in_the_contract_format(widget):
    assert_error(widget.send("delete", f"/api/v1/deals/{LEAD}", {}), 405)


def test_form_body_is_415(widget):
    response = widget.client.put(f"/api/v1/deals/{LEAD}/schedule", "plan=full",
                                 content_type="application/x-www-form-urlencoded", **widget.headers())
    assert_error(response, 415)


def test_field_messages_follow_the_managers_language(widget):
    response = widget.client.post(f"/api/v1/deals/{LEAD}/schedule/preview", {**VALID, "total": "abc"},
                                  format="json", HTTP_ACCEPT_LANGUAGE="ru", **widget.headers())
    error = assert_error(response, 422, "validation_error", "total")
    assert error["fields"]["total"] == ["Требуется численное значение."]
