"""Analytics: received, upcoming and overdue money, by day, aging, rows, Excel, filters."""
from decimal import Decimal
from io import BytesIO

import pytest
import time_machine
from openpyxl import load_workbook

from billing.models import Deal
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db
TODAY = "2027-01-20 12:00:00+03:00"


@pytest.fixture
def book(widget):
    """Two school deals and a payout plan; one cash payment; January has overdue lines on the 20th."""
    with time_machine.travel("2026-12-01 12:00:00+03:00", tick=False):
        widget.put("/api/v1/deals/1/schedule", {
            "plan": "equal", "total": "30000.00", "installments_count": 3, "first_due_date": "2026-12-10",
            "due_day": 10, "group": "Поток 1", "education_direction": "Косметология", "manager_id": 501})
        widget.put("/api/v1/deals/2/schedule", {
            "plan": "equal", "total": "12000.00", "installments_count": 2, "first_due_date": "2027-01-25",
            "group": "Поток 2", "education_direction": "Массаж"})
        widget.put("/api/v1/deals/3/schedule", {"plan": "full", "total": "90000.00", "direction": "outgoing",
                                                "first_due_date": "2027-01-05"})
        widget.post("/api/v1/deals/1/payments", {"amount": "10000.00", "method": "cash", "paid_at": "2026-12-01"})
    Deal.objects.filter(external_id=1).update(name="=HYPERLINK(\"http://evil\")", contact_name="Мария")
    return widget


@time_machine.travel(TODAY, tick=False)
def test_summary_totals_for_incoming_money(book):
    body = book.get("/api/v1/analytics/summary", date_from="2026-12-01", date_to="2027-03-31").json()
    assert body["currency"] == "RUB"
    assert body["received"] == {"amount": "10000.00", "count": 1}
    # Deal 1: Jan 10 overdue (10 000); Feb 10 upcoming. Deal 2: Jan 25 and Feb 25 upcoming.
    assert body["overdue"] == {"amount": "10000.00", "count": 1}
    assert body["upcoming"] == {"amount": "22000.00", "count": 3}


@time_machine.travel(TODAY, tick=False)
def test_outgoing_money_is_reported_separately(book):
    body = book.get("/api/v1/analytics/summary", direction="outgoing").json()
    assert body["overdue"] == {"amount": "90000.00", "count": 1}
    assert body["received"]["count"] == 0


@time_machine.travel(TODAY, tick=False)
def test_filters_by_group_direction_and_manager(book):
    assert book.get("/api/v1/analytics/summary", group="Поток 2").json()["upcoming"]["amount"] == "12000.00"
    by_direction = book.get("/api/v1/analytics/summary", education_direction="Косметология").json()
    assert by_direction["upcoming"]["amount"] == "10000.00"
    by_manager = book.get("/api/v1/analytics/summary", manager_id=501).json()
    assert (by_manager["received"]["amount"], by_manager["overdue"]["amount"]) == ("10000.00", "10000.00")


@time_machine.travel(TODAY, tick=False)
def test_by_day_lists_every_day_of_the_range(book):
    days = book.get("/api/v1/analytics/summary", date_from="2026-12-01", date_to="2026-12-31").json()["by_day"]
    assert len(days) == 31
    assert days[0] == {"date": "2026-12-01", "received": "10000.00", "due": "0.00"}
    assert days[9] == {"date": "2026-12-10", "received": "0.00", "due": "10000.00"}


@time_machine.travel(TODAY, tick=False)
def test_aging_buckets_sort_receivables_by_lateness(book):
    aging = {row["bucket"]: row for row in book.get("/api/v1/analytics/summary").json()["aging"]}
    assert aging["overdue_1_30"] == {"bucket": "overdue_1_30", "amount": "10000.00", "count": 1}
    assert aging["due_next_7_days"]["amount"] == "6000.00"
    assert aging["overdue_over_180"]["count"] == 0


@time_machine.travel(TODAY, tick=False)
def test_rows_are_paged_and_say_how_late(book):
    body = book.get("/api/v1/analytics/rows", kind="overdue").json()
    assert body["count"] == 1
    row = body["results"][0]
    assert (row["lead_id"], row["due_date"], row["remaining"], row["days_overdue"], row["manager_id"]) == (
        1, "2027-01-10", "10000.00", 10, 501)
    upcoming = book.get("/api/v1/analytics/rows", kind="upcoming", page_size=2, page=2).json()
    assert (upcoming["count"], upcoming["pages"], len(upcoming["results"])) == (3, 2, 1)
    assert book.get("/api/v1/analytics/rows", kind="upcoming", page=99).json()["results"] == []
    received = book.get("/api/v1/analytics/rows", kind="received").json()["results"][0]
    assert (received["method"], received["amount"]) == ("cash", "10000.00")


@time_machine.travel(TODAY, tick=False)
def test_excel_export_has_a_sheet_per_kind_numbers_as_numbers_and_no_formulas(book):
    response = book.get("/api/v1/analytics/export.xlsx", lang="ru")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(BytesIO(response.getvalue()))
    assert workbook.sheetnames == ["Поступления", "Предстоящие", "Просроченные"]
    overdue = list(workbook["Просроченные"].iter_rows(values_only=True))
    assert overdue[0][0] == "Сделка №"
    assert overdue[1][1] == "=HYPERLINK(\"http://evil\")"
    assert overdue[1][8] == Decimal("10000") or overdue[1][8] == 10000
    single = load_workbook(BytesIO(book.get("/api/v1/analytics/export.xlsx", kind="received", lang="ru").getvalue()))
    assert single.sheetnames == ["Поступления"]


def test_filters_list_the_accounts_values(book):
    body = book.get("/api/v1/analytics/filters").json()
    assert body["groups"] == ["Поток 1", "Поток 2"]
    assert body["education_directions"] == ["Косметология", "Массаж"]
    assert body["managers"] == [501]


@pytest.mark.parametrize(("params", "field"), [
    ({"date_from": "2027-02-01", "date_to": "2027-01-01"}, "date_to"),
    ({"date_from": "yesterday"}, "date_from"),
    ({"direction": "sideways"}, "direction"),
    ({"manager_id": "boss"}, "manager_id"),
])
def test_bad_filters_are_422_naming_the_field(widget, params, field):
    assert_error(widget.get("/api/v1/analytics/summary", **params), 422, field=field)


def test_rows_need_a_known_kind(widget):
    assert_error(widget.get("/api/v1/analytics/rows", kind="lost"), 422, field="kind")
    assert_error(widget.get("/api/v1/analytics/rows"), 422, field="kind")


@time_machine.travel(TODAY, tick=False)
def test_an_account_sees_only_its_own_money(book, other_widget):
    body = other_widget.get("/api/v1/analytics/summary").json()
    assert body["received"]["count"] == body["upcoming"]["count"] == body["overdue"]["count"] == 0
    assert other_widget.get("/api/v1/analytics/rows", kind="overdue").json()["count"] == 0
    assert other_widget.get("/api/v1/analytics/filters").json()["groups"] == []


def test_analytics_needs_a_token(db):
    from rest_framework.test import APIClient

    assert_error(APIClient().get("/api/v1/analytics/summary"), 401)


@time_machine.travel(TODAY, tick=False)
def test_received_separates_principal_and_interest_of_interest_plans(book):
    with time_machine.travel("2026-12-01 12:00:00+03:00", tick=False):
        book.put("/api/v1/deals/4/schedule", {
            "plan": "annuity", "total": "100000.00", "installments_count": 12, "first_due_date": "2027-01-01",
            "annual_rate": "12", "day_count": "30/360"})
        # Line 1: 8 884.88 of which 1 000.00 interest. 500.00 pays interest only; 9 000.00 pays the rest of
        # line 1 (500.00 interest, 7 884.88 principal) and 615.12 of line 2 (all interest: 921.15 is due).
    with time_machine.travel("2027-01-16 12:00:00+03:00", tick=False):
        book.post("/api/v1/deals/4/payments", {"amount": "500.00", "method": "cash", "paid_at": "2026-12-05"})
        book.post("/api/v1/deals/4/payments", {"amount": "9000.00", "method": "cash", "paid_at": "2027-01-15"})
    body = book.get("/api/v1/analytics/summary", date_from="2026-12-01", date_to="2026-12-31").json()
    assert body["received"]["amount"] == "10500.00"  # deal 1's 10 000.00 and the 500.00
    assert body["received_interest"] == "500.00"
    assert body["received_principal"] == "10000.00"
    body = book.get("/api/v1/analytics/summary", date_from="2027-01-01", date_to="2027-01-31").json()
    assert body["received"]["amount"] == "9000.00"
    assert body["received_interest"] == "1115.12"  # 500.00 of line 1 and 615.12 of line 2
    assert body["received_principal"] == "7884.88"
