"""Offline and full payments through the widget API."""
import pytest
import time_machine

from billing.events import DEAL_PAID, PAYMENT_RECORDED
from billing.models import DomainEvent, Payment
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db
LEAD = 31337


@pytest.fixture
def planned(widget, school_plan):
    response = widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan)
    assert response.status_code == 200, response.content
    return response.json()


def test_offline_payment_lowers_the_debt_and_fills_the_first_installment(widget, planned):
    response = widget.post(f"/api/v1/deals/{LEAD}/payments",
                           {"amount": "15000.00", "method": "cash", "paid_at": "2026-11-20",
                            "comment": "paid at the office"})
    assert response.status_code == 201, response.content
    deal = response.json()
    assert deal["paid"] == "15000.00"
    assert deal["debt"] == "145000.00"
    assert deal["status"] == "active"
    assert deal["schedule"]["installments"][0]["paid"] == "15000.00"
    assert deal["schedule"]["installments"][0]["status"] == "partially_paid"
    assert deal["payments"][0]["comment"] == "paid at the office"
    assert deal["payments"][0]["recorded_by"] == 8765432
    assert DomainEvent.objects.filter(name=PAYMENT_RECORDED).count() == 1


def test_overpayment_is_refused_and_nothing_is_written(widget, planned):
    response = widget.post(f"/api/v1/deals/{LEAD}/payments",
                           {"amount": "160000.01", "method": "cash", "paid_at": "2026-11-20"})
    assert_error(response, 422, "overpayment", "amount")
    assert not Payment.objects.exists()


def test_payment_without_a_plan_is_refused(widget):
    response = widget.post(f"/api/v1/deals/{LEAD}/payments",
                           {"amount": "100.00", "method": "cash", "paid_at": "2026-11-20"})
    assert_error(response, 422, "no_plan")


@time_machine.travel("2026-11-24 12:00:00+03:00", tick=False)
def test_payment_dated_in_the_future_is_refused(widget, planned):
    response = widget.post(f"/api/v1/deals/{LEAD}/payments",
                           {"amount": "100.00", "method": "cash", "paid_at": "2026-11-25"})
    assert_error(response, 422, "paid_at_in_future", "paid_at")


def test_full_payment_records_the_exact_debt_and_marks_the_deal_paid(widget, planned):
    widget.post(f"/api/v1/deals/{LEAD}/payments", {"amount": "12345.67", "method": "cash",
                                                   "paid_at": "2026-11-20"})
    response = widget.post(f"/api/v1/deals/{LEAD}/full-payment",
                           {"method": "bank_transfer", "paid_at": "2026-11-21", "comment": ""})
    assert response.status_code == 201, response.content
    deal = response.json()
    assert deal["status"] == "paid"
    assert deal["debt"] == "0.00"
    assert deal["payments"][-1]["amount"] == "147654.33"
    assert all(line["status"] == "paid" for line in deal["schedule"]["installments"])
    assert DomainEvent.objects.filter(name=DEAL_PAID).count() == 1


def test_full_payment_of_a_paid_deal_is_nothing_to_pay(widget, planned):
    widget.post(f"/api/v1/deals/{LEAD}/full-payment", {"method": "cash", "paid_at": "2026-11-21"})
    response = widget.post(f"/api/v1/deals/{LEAD}/full-payment", {"method": "cash", "paid_at": "2026-11-21"})
    assert_error(response, 422, "nothing_to_pay")
    assert DomainEvent.objects.filter(name=DEAL_PAID).count() == 1


@time_machine.travel("2027-02-10 12:00:00+03:00", tick=False)
def test_unpaid_past_installments_make_the_deal_overdue(widget, planned):
    deal = widget.get(f"/api/v1/deals/{LEAD}").json()
    assert deal["status"] == "overdue"
    assert deal["overdue_amount"] == "53333.32"
    assert deal["next_due"] == {"seq": 3, "due_date": "2027-03-05", "amount": "26666.66"}
    assert [line["status"] for line in deal["schedule"]["installments"][:3]] == ["overdue", "overdue", "planned"]


def test_unseen_deal_is_no_plan(widget):
    deal = widget.get("/api/v1/deals/424242").json()
    assert deal["status"] == "no_plan"
    assert deal["schedule"] is None
    assert deal["debt"] == "0.00"
