"""The analytics numbers agree with each other, unnamed deals have a name, and the Excel export speaks words."""
import zipfile
from decimal import Decimal
from io import BytesIO

import pytest
import time_machine
from django.core.cache import cache
from openpyxl import load_workbook

from billing.models import Deal
from crm import coordination
from crm.amocrm.options import _user_names_remember

pytestmark = pytest.mark.django_db
TODAY = "2027-01-20 12:00:00+03:00"
JANUARY = {"date_from": "2027-01-01", "date_to": "2027-01-31"}
FORMULA_NAME = '=HYPERLINK("http://evil","click")'


@pytest.fixture
def partly_paid(widget):
    """Lead 10 (no title): 10 000 due on the 10th of Nov to Feb, 15 000 paid: 15 000 is late on Jan 20.
    Lead 11: a title that looks like a formula, 8 000 due on Jan 5, 3 000 paid by bank transfer."""
    with time_machine.travel("2026-11-07 12:00:00+03:00", tick=False):
        widget.put("/api/v1/deals/10/schedule", {
            "plan": "equal", "total": "40000.00", "installments_count": 4, "first_due_date": "2026-11-10",
            "due_day": 10, "manager_id": 501})
        widget.put("/api/v1/deals/11/schedule", {"plan": "full", "total": "8000.00", "first_due_date": "2027-01-05",
                                                 "manager_id": 777})
        widget.post("/api/v1/deals/10/payments", {"amount": "15000.00", "method": "cash", "paid_at": "2026-11-05"})
        widget.post("/api/v1/deals/11/payments", {"amount": "3000.00", "method": "bank_transfer",
                                                  "paid_at": "2026-11-06"})
    Deal.objects.filter(external_id=10).update(responsible_user_id=501)
    Deal.objects.filter(external_id=11).update(name=FORMULA_NAME, responsible_user_id=777)
    cache.delete(coordination.key("user-names", widget.account.pk))
    return widget


def _ru(widget, path, **params):
    return widget.client.get(path, params, HTTP_ACCEPT_LANGUAGE="ru", **widget.headers())


@time_machine.travel(TODAY, tick=False)
def test_overdue_is_all_debt_late_today_whatever_the_range_and_matches_aging_and_rows(partly_paid):
    expected = Decimal("20000.00")  # lead 10: 5 000 of Dec + 10 000 of Jan; lead 11: 5 000 of Jan 5
    for params in ({}, JANUARY, {"date_from": "2027-02-01", "date_to": "2027-02-28"}):
        summary = partly_paid.get("/api/v1/analytics/summary", **params).json()
        aging_overdue = sum(Decimal(bucket["amount"]) for bucket in summary["aging"]
                            if bucket["bucket"].startswith("overdue"))
        rows = partly_paid.get("/api/v1/analytics/rows", kind="overdue", page_size=500, **params).json()
        rows_total = sum(Decimal(row["remaining"]) for row in rows["results"])
        assert Decimal(summary["overdue"]["amount"]) == aging_overdue == rows_total == expected, params
        assert summary["overdue"]["count"] == rows["count"] == 3


@time_machine.travel(TODAY, tick=False)
def test_an_unnamed_deal_is_called_by_its_lead_number(partly_paid):
    rows = _ru(partly_paid, "/api/v1/analytics/rows", kind="overdue").json()["results"]
    assert {row["lead_id"]: row["deal_name"] for row in rows}[10] == "Сделка №10"
    english = partly_paid.client.get("/api/v1/analytics/rows", {"kind": "received"}, HTTP_ACCEPT_LANGUAGE="en",
                                     **partly_paid.headers()).json()["results"]
    assert {row["lead_id"]: row["deal_name"] for row in english}[10] == "Deal #10"


def _workbook(response):
    assert response.status_code == 200, response.getvalue()
    return load_workbook(BytesIO(response.getvalue()))


@time_machine.travel(TODAY, tick=False)
def test_russian_export_uses_words_names_totals_filter_and_frozen_header(partly_paid):
    _user_names_remember(partly_paid.account.pk, [{"id": 501, "name": "Анна Петрова"}], 60)
    book = _workbook(_ru(partly_paid, "/api/v1/analytics/export.xlsx"))
    assert book.sheetnames == ["Поступления", "Предстоящие", "Просроченные"]

    received = book["Поступления"]
    header = [cell.value for cell in received[1]]
    assert header[:3] == ["Сделка №", "Название", "Клиент"]
    assert "Способ оплаты" in header
    by_lead = {row[0]: dict(zip(header, row, strict=True)) for row in received.iter_rows(min_row=2, values_only=True)}
    assert by_lead[10]["Способ оплаты"] == "Наличные"
    assert by_lead[11]["Способ оплаты"] == "Банковский перевод"
    assert by_lead[10]["Название"] == "Сделка №10"
    assert by_lead[10]["Поток денег"] == "Клиент платит нам"
    assert by_lead[10]["Менеджер"] == "Анна Петрова"
    assert by_lead[11]["Менеджер"] == "Менеджер #777"
    assert by_lead[10]["Статус"] == "Получено"

    overdue = book["Просроченные"]
    assert overdue.freeze_panes == "A2"
    assert overdue.auto_filter.ref == "A1:N4"  # header and three rows; the totals row stays out of the filter
    totals = [cell.value for cell in overdue[5]]
    assert totals[0] == "Итого"
    assert Decimal(str(totals[header.index("Остаток")])) == Decimal("20000.00")
    statuses = sorted((row[0], row[header.index("Статус")])
                      for row in overdue.iter_rows(min_row=2, max_row=4, values_only=True))
    assert statuses == [(10, "Просрочено"), (10, "Просрочено, оплачено частично"),
                        (11, "Просрочено, оплачено частично")]


@time_machine.travel(TODAY, tick=False)
def test_formula_like_text_is_kept_as_text_without_an_apostrophe(partly_paid):
    response = _ru(partly_paid, "/api/v1/analytics/export.xlsx", kind="overdue")
    body = response.getvalue()  # a streamed body reads once
    sheet = load_workbook(BytesIO(body))["Просроченные"]
    cell = next(row[1] for row in sheet.iter_rows(min_row=2) if row[0].value == 11)
    assert cell.value == FORMULA_NAME
    assert cell.data_type == "s"
    with zipfile.ZipFile(BytesIO(body)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml
    assert "HYPERLINK" in xml


@time_machine.travel(TODAY, tick=False)
def test_export_speaks_english_unless_the_request_is_russian(partly_paid):
    english = _workbook(partly_paid.client.get("/api/v1/analytics/export.xlsx", {"kind": "received"},
                                               HTTP_ACCEPT_LANGUAGE="en", **partly_paid.headers()))
    assert english.sheetnames == ["Received"]
    sheet = english["Received"]
    assert sheet["A1"].value == "Deal #"
    assert {row[0]: row[-1] for row in sheet.iter_rows(min_row=2, max_row=3, values_only=True)}[10] == "Cash"
    assert sheet.cell(row=4, column=1).value == "Total"
    by_param = _workbook(partly_paid.client.get("/api/v1/analytics/export.xlsx", {"kind": "received", "lang": "ru"},
                                                HTTP_ACCEPT_LANGUAGE="en", **partly_paid.headers()))
    assert by_param.sheetnames == ["Поступления"]


@time_machine.travel(TODAY, tick=False)
def test_managers_amocrm_cannot_name_are_numbered(partly_paid):
    sheet = _workbook(_ru(partly_paid, "/api/v1/analytics/export.xlsx", kind="upcoming"))["Предстоящие"]
    header = [cell.value for cell in sheet[1]]
    managers = {row[header.index("Менеджер")] for row in sheet.iter_rows(min_row=2, values_only=True) if row[1]}
    assert managers == {"Менеджер #501"}
