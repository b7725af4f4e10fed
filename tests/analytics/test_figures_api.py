"""[I] over HTTP: the forecast, collection rate and plan progress endpoints; the rows' keyset cursor (stable
across inserts, the page numbers still working); the Excel export streamed."""
from datetime import timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook

from billing.models import Deal
from billing.time import account_today
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def school(widget):
    """Five deals of 6 monthly lines of 10 000 from 95 days ago; deal 1 paid two lines on time, deal 2 one late."""
    today = account_today(widget.account)
    first = today - timedelta(days=95)
    for lead in range(1, 6):
        response = widget.put(f"/api/v1/deals/{lead}/schedule", {
            "plan": "equal", "total": "60000.00", "installments_count": 6, "first_due_date": first.isoformat(),
            "manager_id": 501 if lead % 2 else 502})
        assert response.status_code in (200, 201), response.content
    widget.post("/api/v1/deals/1/payments", {"amount": "20000.00", "method": "cash",
                                             "paid_at": (first - timedelta(days=1)).isoformat()})
    widget.post("/api/v1/deals/2/payments", {"amount": "10000.00", "method": "cash",
                                             "paid_at": (first + timedelta(days=3)).isoformat()})
    return widget


def test_forecast_by_week_and_month(school):
    body = school.get("/api/v1/analytics/forecast", weeks=4, months=3).json()
    assert body["currency"] == "RUB"
    assert len(body["weeks"]) == 4
    assert len(body["months"]) == 3
    assert body["months"][0]["start"] == account_today(school.account).isoformat()
    assert sum(period["count"] for period in body["months"]) == 5 * 2  # this month's rest and two more: 2 lines
    assert all(period["amount"].endswith(".00") for period in body["months"])
    assert_error(school.get("/api/v1/analytics/forecast", weeks=0), 422, "validation_error")


def test_collection_rate_per_manager(school):
    body = school.get("/api/v1/analytics/collection-rate").json()
    rows = {row["manager_id"]: row for row in body["rows"]}
    assert set(rows) == {501, 502}
    assert rows[501]["due_count"] == 3 * 3  # three lines each of deals 1, 3, 5 were due in the last 90 days
    # deal 1's payment covered its first two lines in time; the first fell due before the 90 days
    assert rows[501]["on_time_count"] == 1
    assert rows[501]["on_time_amount"] == "10000.00"
    assert rows[501]["rate_count"] == "0.1111"
    assert rows[501]["rate_amount"] == "0.1111"
    assert rows[502]["on_time_amount"] == "0.00"  # deal 2 paid late
    assert body["totals"]["due_amount"] == "150000.00"
    assert body["date_to"] == (account_today(school.account) - timedelta(days=1)).isoformat()


def test_plan_progress_pages_by_lead_and_answers_for_one_deal(school):
    first = school.get("/api/v1/analytics/plan-progress", page_size=2).json()
    assert [row["lead_id"] for row in first["results"]] == [1, 2]
    assert first["results"][0]["lines_paid"] == 2
    assert first["results"][0]["lines_total"] == 6
    assert first["results"][1]["lines_paid"] == 1
    assert first["next_after"] == 2
    rest = school.get("/api/v1/analytics/plan-progress", page_size=2, after=first["next_after"]).json()
    assert [row["lead_id"] for row in rest["results"]] == [3, 4]
    one = school.get("/api/v1/analytics/plan-progress", lead_id=1).json()
    assert [(row["lead_id"], row["amount_paid"]) for row in one["results"]] == [(1, "20000.00")]
    assert one["next_after"] is None


def test_the_new_figures_are_the_callers_account_only(school, other_widget):
    assert other_widget.get("/api/v1/analytics/plan-progress").json()["results"] == []
    assert other_widget.get("/api/v1/analytics/collection-rate").json()["rows"] == []


@pytest.mark.parametrize("kind", ["upcoming", "overdue", "received"])
def test_the_rows_cursor_walks_every_row_once_even_with_inserts_between_pages(school, kind):
    if kind == "received":
        for day in range(12):
            school.post("/api/v1/deals/3/payments", {"amount": "100.00", "method": "cash", "paid_at": (
                account_today(school.account) - timedelta(days=40 + day)).isoformat()})
    every = school.get("/api/v1/analytics/rows", kind=kind, page_size=500).json()
    expected = [(row["lead_id"], row["date"], row["seq"], row["amount"]) for row in every["results"]]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"kind": kind, "page_size": 4, **({"cursor": cursor} if cursor else {})}
        body = school.get("/api/v1/analytics/rows", **params).json()
        seen += [(row["lead_id"], row["date"], row["seq"], row["amount"]) for row in body["results"]]
        if pages == 0:
            assert body["count"] == len(expected)  # the first page (page=) still counts
            # a row inserted before the cursor: neither repeated nor hiding the rows after it
            if kind == "received":
                school.post("/api/v1/deals/4/payments", {"amount": "5.00", "method": "cash", "paid_at": (
                    account_today(school.account) - timedelta(days=400)).isoformat()})
            else:
                Deal.objects.filter(external_id=5).update(name="renamed between pages")
        else:
            assert body["count"] is None
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages == -(-len(expected) // 4)


def test_page_numbers_still_work_and_hand_out_a_cursor(school):
    second = school.get("/api/v1/analytics/rows", kind="upcoming", page=2, page_size=5).json()
    via_cursor = school.get("/api/v1/analytics/rows", kind="upcoming", page_size=5, cursor=school.get(
        "/api/v1/analytics/rows", kind="upcoming", page=1, page_size=5).json()["next_cursor"]).json()
    assert second["results"] == via_cursor["results"]
    assert second["pages"] == 2


@pytest.mark.parametrize("cursor", ["nonsense", "cmVjZWl2ZWR8MjAyNi0wMS0wMXwx", "", "dXBjb21pbmd8eHx5fHo"])
def test_a_foreign_or_broken_cursor_is_422(school, cursor):
    response = school.get("/api/v1/analytics/rows", kind="upcoming", cursor=cursor)
    if cursor == "":
        assert response.status_code == 200  # an empty parameter counts as not sent
    else:
        assert_error(response, 422, "validation_error")


def test_the_export_streams(school):
    response = school.get("/api/v1/analytics/export.xlsx", lang="ru")
    assert response.status_code == 200
    assert response.streaming
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(BytesIO(b"".join(response.streaming_content)))
    assert book.sheetnames == ["Поступления", "Предстоящие", "Просроченные"]
    assert book["Просроченные"]["A1"].value == "Сделка №"


@pytest.mark.parametrize("kind", ["received", "overdue"])
def test_a_rows_page_reads_no_column_lazily(school, kind, django_assert_max_num_queries):
    school.get("/api/v1/analytics/rows", kind=kind)  # warm: token, account
    with django_assert_max_num_queries(12):  # auth, account and the page: never one more per row
        body = school.get("/api/v1/analytics/rows", kind=kind, page_size=50).json()
    assert body["results"]
    assert all(row["deal_name"] and row["date"] for row in body["results"])


def test_a_bad_cursor_is_explained_in_russian(school):
    response = school.client.get("/api/v1/analytics/rows", {"kind": "upcoming", "cursor": "nonsense"},
                                 HTTP_ACCEPT_LANGUAGE="ru", **school.headers())
    assert response.status_code == 422
    assert "курсор" in response.content.decode()
