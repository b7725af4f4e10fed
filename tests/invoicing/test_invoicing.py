"""Invoices on due dates: gapless numbers, one live invoice per line, one gateway order per invoice."""
from datetime import date

import pytest

from billing.events import INVOICE_ISSUED
from billing.gateway.errors import GatewayRejected, GatewayUnavailable
from billing.models import DomainEvent, Invoice
from billing.services.billing_run import billing_run
from billing.services.invoicing import invoice_issue
from tests.conftest import assert_error
from tests.invoicing.conftest import make_plan

pytestmark = pytest.mark.django_db


def test_the_tick_issues_an_invoice_on_the_due_date_and_not_before(account, gateway):
    deal = make_plan(account)
    assert billing_run(today=date(2026, 12, 4)).issued == []
    report = billing_run(today=date(2026, 12, 5))
    assert report.issued == ["2026-000001"]
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.amount, invoice.installment.seq) == ("issued", 10000, 1)
    assert invoice.payment_url.startswith("https://pay.test/d/")
    assert invoice.gateway_request_id == f"order:{account.pk}:2026-000001:1"
    order = gateway.calls[0][1]
    assert (order.invoice_id, order.account_id, order.amount) == ("2026-000001", str(deal.external_id), 10000)
    assert DomainEvent.objects.filter(name=INVOICE_ISSUED).count() == 1


def test_the_tick_is_idempotent(account, gateway):
    make_plan(account)
    for _ in range(3):
        billing_run(today=date(2026, 12, 5))
    assert Invoice.objects.count() == 1
    assert len(gateway.calls) == 1


def test_lead_days_issue_invoices_early(account, gateway):
    account.settings = {"invoice_lead_days": 3}
    account.save()
    make_plan(account)
    assert billing_run(today=date(2026, 12, 2)).issued == ["2026-000001"]


def test_numbers_are_gapless_per_account_and_year(account, other_account, gateway):
    make_plan(account, lead_id=1)
    make_plan(account, lead_id=2)
    make_plan(other_account, lead_id=3)
    billing_run(today=date(2027, 2, 5))
    numbers = {(inv.account.slug, inv.number) for inv in Invoice.objects.select_related("account")}
    assert {n for s, n in numbers if s == "school"} == {f"2027-00000{i}" for i in range(1, 7)}
    assert {n for s, n in numbers if s == "lawyers"} == {"2027-000001", "2027-000002", "2027-000003"}


def test_a_gateway_outage_leaves_the_row_creating_and_the_retry_makes_one_order(account, gateway):
    make_plan(account)
    gateway.fail_next = [GatewayUnavailable("timeout")]
    report = billing_run(today=date(2026, 12, 5))
    assert report.pending == 1
    assert Invoice.objects.get().status == "creating"
    billing_run(today=date(2026, 12, 5))
    invoice = Invoice.objects.get()
    assert invoice.status == "issued"
    assert {request_id for request_id, _ in gateway.calls} == {invoice.gateway_request_id}
    assert len(gateway.orders) == 1


def test_a_refused_order_marks_the_invoice_failed_and_is_not_retried_automatically(account, gateway):
    make_plan(account)
    gateway.fail_next = [GatewayRejected("Amount is required")]
    billing_run(today=date(2026, 12, 5))
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.last_failure_reason) == ("failed", "Amount is required")
    billing_run(today=date(2026, 12, 5))
    assert Invoice.objects.count() == 1


def test_outgoing_plans_never_invoice(account, gateway):
    make_plan(account, direction="outgoing")
    assert billing_run(today=date(2027, 6, 1)).issued == []
    assert not gateway.calls


def test_rebuilding_the_plan_cancels_live_orders_of_lines_that_no_longer_exist(
        account, gateway, widget, django_capture_on_commit_callbacks):
    deal = make_plan(account)
    billing_run(today=date(2026, 12, 5))
    with django_capture_on_commit_callbacks(execute=True):
        response = widget.put(f"/api/v1/deals/{deal.external_id}/schedule", {
            "plan": "equal", "total": "30000.00", "installments_count": 2, "first_due_date": "2026-12-20"})
    assert response.status_code == 200
    invoice = Invoice.objects.get()
    assert invoice.status == "cancelled"
    assert gateway.cancelled == [invoice.gateway_order_id]


def test_a_line_that_survives_a_rebuild_keeps_its_invoice(account, gateway, widget):
    deal = make_plan(account)
    billing_run(today=date(2026, 12, 5))
    widget.put(f"/api/v1/deals/{deal.external_id}/schedule", {
        "plan": "equal", "total": "40000.00", "installments_count": 4, "first_due_date": "2026-12-05",
        "due_day": 5})
    invoice = Invoice.objects.get()
    assert invoice.status == "issued"
    assert invoice.installment.schedule.version == 2
    assert not gateway.cancelled


def test_an_offline_payment_covering_an_invoiced_line_cancels_its_link(
        account, gateway, widget, django_capture_on_commit_callbacks):
    deal = make_plan(account)
    billing_run(today=date(2026, 12, 5))
    with django_capture_on_commit_callbacks(execute=True):
        widget.post(f"/api/v1/deals/{deal.external_id}/payments", {"amount": "10000.00", "method": "cash",
                                                                "paid_at": "2026-11-24"})
    assert Invoice.objects.get().status == "cancelled"
    assert len(gateway.cancelled) == 1


def test_issue_now_from_the_widget_uses_the_same_service(account, gateway, widget):
    deal = make_plan(account)
    first = widget.post(f"/api/v1/deals/{deal.external_id}/invoices", {})
    assert first.status_code == 201, first.content
    assert first.json()["installment_seq"] == 1
    again = widget.post(f"/api/v1/deals/{deal.external_id}/invoices", {"installment_seq": 1})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    second = widget.post(f"/api/v1/deals/{deal.external_id}/invoices", {"installment_seq": 2})
    assert second.status_code == 201
    history = widget.get(f"/api/v1/deals/{deal.external_id}/invoices").json()
    assert [row["number"] for row in history] == ["2026-000001", "2026-000002"]
    assert history[0]["pdf_url"] == f"/api/v1/invoices/{first.json()['id']}/pdf"
    deal_body = widget.get(f"/api/v1/deals/{deal.external_id}").json()
    assert deal_body["schedule"]["installments"][0]["status"] == "invoiced"
    assert deal_body["schedule"]["installments"][0]["invoice"]["payment_url"].startswith("https://pay.test")


def test_issue_now_refuses_paid_unknown_and_outgoing_lines(account, gateway, widget):
    deal = make_plan(account)
    widget.post(f"/api/v1/deals/{deal.external_id}/payments", {"amount": "10000.00", "method": "cash",
                                                            "paid_at": "2026-11-24"})
    assert_error(widget.post(f"/api/v1/deals/{deal.external_id}/invoices", {"installment_seq": 1}), 422,
                 "installment_paid", "installment_seq")
    assert_error(widget.post(f"/api/v1/deals/{deal.external_id}/invoices", {"installment_seq": 9}), 422,
                 "installment_not_found", "installment_seq")
    assert_error(widget.post(f"/api/v1/deals/{deal.external_id}/invoices", {"installment_seq": "x"}), 422,
                 field="installment_seq")
    outgoing = make_plan(account, lead_id=6002, direction="outgoing")
    assert_error(widget.post(f"/api/v1/deals/{outgoing.external_id}/invoices", {}), 422, "outgoing_plan")


def test_a_deal_with_nothing_unpaid_has_nothing_to_invoice(account, gateway, widget):
    deal = make_plan(account)
    widget.post(f"/api/v1/deals/{deal.external_id}/full-payment", {"method": "cash", "paid_at": "2026-11-24"})
    assert_error(widget.post(f"/api/v1/deals/{deal.external_id}/invoices", {}), 422, "nothing_to_invoice")


def test_invoice_endpoints_on_another_accounts_lead_id_answer_as_for_an_unused_one(
        account, other_account, gateway, widget):
    make_plan(other_account, lead_id=6100)
    unused = widget.post("/api/v1/deals/6101/invoices", {})
    assert_error(widget.post("/api/v1/deals/6100/invoices", {}), unused.status_code, unused.json()["error"]["code"])
    assert widget.get("/api/v1/deals/6100/invoices").json() == widget.get("/api/v1/deals/6101/invoices").json() == []
    assert Invoice.objects.filter(account=account).count() == 0


def test_issuing_twice_directly_returns_the_live_invoice(account, gateway):
    deal = make_plan(account)
    line = deal.schedules.get().installments.get(seq=1)
    first = invoice_issue(installment_id=line.pk)
    second = invoice_issue(installment_id=line.pk)
    assert first.created
    assert not second.created
    assert first.invoice.pk == second.invoice.pk
