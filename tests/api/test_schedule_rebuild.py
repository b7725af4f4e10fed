"""A rebuild changes only what the manager touched: the stored request is whole, the preview says what
changes against the active version, and saving an unchanged plan makes no new version."""
from datetime import date, timedelta

import pytest
from django.apps import apps

from billing.demo import demo_account_load
from billing.domain.plan_request import REQUEST_FIELDS
from billing.models import Schedule
from billing.services.billing_run import billing_run
from tests.conftest import WidgetClient
from tests.invoicing.conftest import gateway, make_plan  # noqa: F401  (the fake gateway fixture)

pytestmark = pytest.mark.django_db
LEAD = 31337
LAST_DAY_PLAN = {
    "plan": "equal", "total": "100000.00", "installments_count": 7, "first_due_date": "2027-01-31",
    "due_day": "last", "rounding": "100", "down_payment": {"amount": "10000.00", "due_date": "2027-01-15"},
    "extra_charges": [{"label": "Госпошлина", "amount": "1500.00", "due_date": "2027-02-01"}],
    "group": "Поток 1", "education_direction": "Массаж",
}

def preview(widget, body, lead=LEAD):
    response = widget.post(f"/api/v1/deals/{lead}/schedule/preview", body)
    assert response.status_code == 200, response.content
    return response.json()

def test_a_saved_version_stores_every_request_field_with_defaults(widget):
    response = widget.put(f"/api/v1/deals/{LEAD}/schedule", LAST_DAY_PLAN)
    assert response.status_code == 200, response.content
    stored = response.json()["request"]
    assert set(stored) == set(REQUEST_FIELDS)
    assert stored["period"] == "month"
    assert stored["due_day"] == "last"
    assert stored["rounding"] == "100"
    assert stored["already_paid"] == "0.00"
    assert stored["autopay"] is False
    assert stored["extra_charges"] == [{"label": "Госпошлина", "amount": "1500.00", "due_date": "2027-02-01"}]
    assert Schedule.objects.get().request == stored

def test_the_stored_request_previews_unchanged_and_saving_it_makes_no_new_version(widget):
    saved = widget.put(f"/api/v1/deals/{LEAD}/schedule", LAST_DAY_PLAN).json()
    again = preview(widget, saved["request"])
    assert again["changes"]["unchanged"] is True
    assert again["changes"]["base_version"] == 1
    assert again["changes"]["lines"] == []
    assert again["installments"] == [{**line, "invoice": None, "status": "planned", "paid": "0.00"}
                                     for line in saved["installments"]]

    response = widget.put(f"/api/v1/deals/{LEAD}/schedule", saved["request"])
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 1
    assert Schedule.objects.count() == 1

def test_one_changed_field_shows_was_and_becomes_per_line(widget):
    saved = widget.put(f"/api/v1/deals/{LEAD}/schedule", LAST_DAY_PLAN).json()
    changed = preview(widget, {**saved["request"], "installments_count": 6})["changes"]
    assert changed["unchanged"] is False
    first = next(line for line in changed["lines"] if line["change"] == "changed")
    assert first["was"]["amount"] != first["becomes"]["amount"]
    assert any(line["change"] == "removed" and line["becomes"] is None for line in changed["lines"])

    moved = preview(widget, {**saved["request"], "group": "Поток 2"})["changes"]
    assert moved["lines"] == []
    assert moved["fields"] == [{"field": "group", "was": "Поток 1", "becomes": "Поток 2"}]
    assert moved["unchanged"] is False

def test_a_first_plan_has_no_changes_block(widget):
    assert preview(widget, LAST_DAY_PLAN)["changes"] is None

def test_the_preview_names_the_invoices_a_rebuild_cancels_and_the_rebuild_cancels_exactly_those(
        account, gateway, widget, django_capture_on_commit_callbacks):  # noqa: F811
    deal = make_plan(account)
    billing_run(today=date(2026, 12, 5))
    body = {"plan": "equal", "total": "30000.00", "installments_count": 2, "first_due_date": "2026-12-20"}
    changes = preview(widget, body, lead=deal.external_id)["changes"]
    cancelled = changes["invoices_cancelled"]
    assert [invoice["installment_seq"] for invoice in cancelled] == [1]
    with django_capture_on_commit_callbacks(execute=True):
        widget.put(f"/api/v1/deals/{deal.external_id}/schedule", body)
    assert [invoice.pk for invoice in deal.invoices.filter(status="cancelled")] == [cancelled[0]["id"]]

    kept_body = {**Schedule.objects.get(deal=deal, is_active=True).request}
    assert preview(widget, kept_body, lead=deal.external_id)["changes"]["unchanged"] is True

def test_every_demo_plan_rebuilds_unchanged_from_its_stored_request(settings):
    account, _ = demo_account_load()
    widget = WidgetClient(account)
    schedules = Schedule.objects.filter(deal__account=account, is_active=True).select_related("deal")
    assert schedules.count() >= 7
    for schedule in schedules:
        assert set(schedule.request) >= set(REQUEST_FIELDS), schedule.deal.name
        changes = preview(widget, schedule.request, lead=schedule.deal.external_id)["changes"]
        assert changes["unchanged"] is True, (schedule.deal.name, changes)

def test_the_migration_rebuilds_old_requests_that_rebuild_unchanged(widget):

    migration = __import__("billing.migrations.0006_c1_full_plan_requests", fromlist=["fill_requests"])
    saved = widget.put(f"/api/v1/deals/{LEAD}/schedule", {**LAST_DAY_PLAN, "period": "month"}).json()
    Schedule.objects.update(request={"demo": True})
    migration.fill_requests(apps, None)
    request = Schedule.objects.get().request
    assert set(request) == set(REQUEST_FIELDS)
    assert (request["due_day"], request["rounding"], request["group"]) == ("last", "100", "Поток 1")
    assert request["down_payment"] == LAST_DAY_PLAN["down_payment"]
    assert request["extra_charges"] == LAST_DAY_PLAN["extra_charges"]
    assert preview(widget, request)["changes"]["unchanged"] is True
    assert saved["version"] == 1


def test_an_old_two_weekly_request_without_its_period_is_read_from_the_dates(widget):
    migration = __import__("billing.migrations.0006_c1_full_plan_requests", fromlist=["fill_requests"])
    first = date.today() + timedelta(days=3)
    widget.put(f"/api/v1/deals/{LEAD}/schedule", {
        "plan": "equal", "total": "60000.00", "installments_count": 4, "period": "2weeks",
        "first_due_date": first.isoformat()})
    Schedule.objects.update(request={"plan": "equal", "total": "60000.00", "installments_count": 4})
    migration.fill_requests(apps, None)
    request = Schedule.objects.get().request
    assert request["period"] == "2weeks"
    assert request["first_due_date"] == first.isoformat()
    assert preview(widget, request)["changes"]["unchanged"] is True
