"""Interest plans [J] through the widget API: preview and save, the interest per line, the stored request
rebuilds exactly the active plan, bad input is a 422 naming the field."""
from decimal import Decimal

import pytest

from billing.models import Installment, Schedule
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db
LEAD = 31338
ANNUITY = {"plan": "annuity", "total": "100000.00", "installments_count": 12, "first_due_date": "2027-02-01",
           "annual_rate": "12", "day_count": "30/360", "group": "Поток 1"}


def test_the_preview_shows_interest_per_line_total_interest_and_the_effective_rate(widget):
    response = widget.post(f"/api/v1/deals/{LEAD}/schedule/preview", ANNUITY)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["installments"][0]["amount"] == "8884.88"
    assert data["installments"][0]["interest"] == "1000.00"
    assert data["installments"][1]["interest"] == "921.15"
    assert data["interest_total"] == "6618.53"
    assert data["total"] == data["debt"] == "106618.53"
    assert data["effective_rate"] is not None
    assert data["request"]["start_date"] == "2027-01-01"  # one period before the first due date, resolved
    assert not Schedule.objects.exists()


def test_a_saved_interest_plan_stores_the_split_and_rebuilds_unchanged(widget):
    saved = widget.put(f"/api/v1/deals/{LEAD}/schedule", {**ANNUITY, "plan": "differentiated",
                                                         "grace_periods": 2, "day_count": "actual/365"})
    assert saved.status_code == 200, saved.content
    body = saved.json()
    assert body["plan"] == "differentiated"
    assert [line["interest"] for line in body["installments"][:2]] == ["1019.18", "920.55"]
    assert sum(line.interest for line in Installment.objects.all()) == Schedule.objects.get().total - 100000
    request = body["request"]
    assert (request["annual_rate"], request["day_count"], request["grace_periods"]) == ("12", "actual/365", 2)
    again = widget.post(f"/api/v1/deals/{LEAD}/schedule/preview", request).json()
    assert again["changes"]["unchanged"] is True
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", request).json()["version"] == 1

    lower = widget.post(f"/api/v1/deals/{LEAD}/schedule/preview", {**request, "annual_rate": "10"}).json()
    assert lower["changes"]["unchanged"] is False
    first = lower["changes"]["lines"][0]
    assert (first["was"]["interest"], first["becomes"]["interest"]) == ("1019.18", "849.32")


@pytest.mark.parametrize(("change", "field"), [
    ({"annual_rate": "-1"}, "annual_rate"), ({"annual_rate": "1000.5"}, "annual_rate"),
    ({"grace_periods": 12}, "grace_periods"), ({"day_count": "365/365"}, "day_count"),
    ({"start_date": "2027-03-01"}, "start_date"),
    ({"installments_count": None, "installment_amount": "500.00"}, "installment_amount"),
])
def test_bad_interest_input_is_a_422_naming_the_field(widget, change, field):
    response = widget.post(f"/api/v1/deals/{LEAD}/schedule/preview", {**ANNUITY, **change})
    assert_error(response, 422, field=field)


def test_an_early_payoff_of_an_interest_plan_recomputes_interest_and_rebuilds_unchanged(widget):
    saved = widget.put(f"/api/v1/deals/{LEAD}/schedule", ANNUITY).json()
    preview = widget.post(f"/api/v1/deals/{LEAD}/early-payoff/preview", {"amount": "30000", "mode": "lower"})
    assert preview.status_code == 200, preview.content
    body = preview.json()
    assert body["installments"][0]["amount"] == "30000.00"
    assert body["installments"][0]["interest"] == "0.00"  # paid before interest starts (1 January)
    assert len(body["installments"]) == 13
    assert body["interest_total"] < saved["interest_total"]
    assert sum(Decimal(line["amount"]) - Decimal(line["interest"]) for line in body["installments"]) == 100000
    assert body["request"]["interest_plan"] == "annuity"

    applied = widget.post(f"/api/v1/deals/{LEAD}/early-payoff", {"amount": "30000", "mode": "shorten",
                                                                 "expected_version": 1})
    assert applied.status_code == 200, applied.content
    stored = applied.json()
    assert stored["version"] == 2
    assert stored["request"]["change"] == "early_payoff_shorten"
    assert stored["request"]["reason"]
    assert all(line["amount"] == "8884.88" for line in stored["installments"][1:-1])
    assert len(stored["installments"]) < 13
    again = widget.post(f"/api/v1/deals/{LEAD}/schedule/preview", stored["request"]).json()
    assert again["changes"]["unchanged"] is True
    # A second early payoff (the first lump, due today, still unpaid, so it is part of it) keeps recomputing
    # interest with the same terms.
    second = widget.post(f"/api/v1/deals/{LEAD}/early-payoff/preview", {"amount": "40000", "mode": "lower"})
    assert second.status_code == 200, second.content
    assert Decimal(second.json()["interest_total"]) < Decimal(stored["interest_total"])
