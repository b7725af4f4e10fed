"""Concurrency on real PostgreSQL: row locks and unique keys keep money from doubling."""
from collections import Counter

import pytest

from billing.models import Deal, Payment, Schedule
from tests.conftest import WidgetClient
from tests.threads import run_together

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
LEAD = 31337


@pytest.fixture
def planned_deal(account, school_plan):
    widget = WidgetClient(account)
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan).status_code == 200
    return widget


def test_two_offline_payments_exceeding_the_debt_together_let_exactly_one_through(account, planned_deal):
    body = {"amount": "100000.00", "method": "cash", "paid_at": "2026-11-20"}
    responses = run_together([
        lambda: WidgetClient(account).post(f"/api/v1/deals/{LEAD}/payments", body) for _ in range(2)])
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 1, 422: 1}
    refused = next(response for response in responses if response.status_code == 422)
    assert refused.json()["error"]["code"] == "overpayment"
    deal = Deal.objects.get(external_id=LEAD)
    assert deal.paid == 100000
    assert deal.debt == 60000
    assert Payment.objects.count() == 1


def test_many_payments_at_once_never_push_the_debt_below_zero(account, planned_deal):
    body = {"amount": "30000.00", "method": "cash", "paid_at": "2026-11-20"}
    responses = run_together([
        lambda: WidgetClient(account).post(f"/api/v1/deals/{LEAD}/payments", body) for _ in range(8)])
    assert Counter(response.status_code for response in responses) == {201: 5, 422: 3}
    deal = Deal.objects.get(external_id=LEAD)
    assert deal.paid == 150000
    assert deal.debt == 10000


def test_the_same_idempotency_key_sent_concurrently_records_one_payment(account, planned_deal, settings):
    # Long enough for the repeats to wait out the first request on a loaded machine and replay its answer.
    settings.IDEMPOTENCY_IN_PROGRESS_WAIT_SECONDS = 120
    body = {"amount": "1000.00", "method": "cash", "paid_at": "2026-11-20"}
    responses = run_together([
        lambda: WidgetClient(account).post(f"/api/v1/deals/{LEAD}/payments", body, idempotency_key="double-click")
        for _ in range(4)])
    assert {response.status_code for response in responses} == {201}
    assert len({response.content for response in responses}) == 1
    assert Payment.objects.count() == 1


def test_concurrent_full_payments_pay_once(account, planned_deal):
    body = {"method": "cash", "paid_at": "2026-11-20"}
    responses = run_together([
        lambda: WidgetClient(account).post(f"/api/v1/deals/{LEAD}/full-payment", body) for _ in range(3)])
    assert Counter(response.status_code for response in responses) == {201: 1, 422: 2}
    assert Payment.objects.count() == 1
    assert Deal.objects.get(external_id=LEAD).status == "paid"


def test_concurrent_rebuilds_leave_one_active_version_per_deal(account, planned_deal, school_plan):
    responses = run_together([
        lambda n=n: WidgetClient(account).put(f"/api/v1/deals/{LEAD}/schedule",
                                              {**school_plan, "installments_count": n})
        for n in (2, 3, 4, 5)])
    assert {response.status_code for response in responses} == {200}
    versions = sorted(Schedule.objects.values_list("version", flat=True))
    assert versions == [1, 2, 3, 4, 5]
    assert Schedule.objects.filter(is_active=True).count() == 1


def test_first_sight_of_a_lead_from_many_requests_creates_one_deal(account):
    responses = run_together([lambda: WidgetClient(account).get("/api/v1/deals/777") for _ in range(6)])
    assert {response.status_code for response in responses} == {200}
    assert Deal.objects.filter(external_id=777).count() == 1
