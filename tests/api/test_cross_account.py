"""Tenancy: a token of account A sees nothing of account B, on every endpoint."""
import pytest

from billing.models import Payment, Schedule
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db
B_LEAD = 90001

ENDPOINTS = [
    ("get", f"/api/v1/deals/{B_LEAD}", None),
    ("put", f"/api/v1/deals/{B_LEAD}/schedule",
     {"plan": "full", "total": "10.00", "first_due_date": "2027-01-01"}),
    ("post", f"/api/v1/deals/{B_LEAD}/schedule/preview",
     {"plan": "full", "total": "10.00", "first_due_date": "2027-01-01"}),
    ("post", f"/api/v1/deals/{B_LEAD}/payments", {"amount": "1.00", "method": "cash", "paid_at": "2026-11-20"}),
    ("post", f"/api/v1/deals/{B_LEAD}/full-payment", {"method": "cash", "paid_at": "2026-11-20"}),
]


@pytest.fixture
def b_deal(other_widget, school_plan):
    assert other_widget.put(f"/api/v1/deals/{B_LEAD}/schedule", school_plan).status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=[e[1].split(str(B_LEAD))[-1] or "deal"
                                                                   for e in ENDPOINTS])
def test_account_a_gets_404_for_a_deal_of_account_b(widget, b_deal, method, path, body):
    response = widget.get(path) if method == "get" else widget.send(method, path, body)
    assert_error(response, 404, "deal_not_found")
    assert Schedule.objects.filter(deal__account=widget.account).count() == 0
    assert Payment.objects.filter(account=widget.account).count() == 0
