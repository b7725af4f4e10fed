"""[I] The figures users asked for: cash-in forecast, collection rate per manager, plan progress per deal. Each
selector agrees to the kopeck with a brute-force recomputation over the raw rows in Python, on a book with partial
payments, late payments, refunds, rebuilt plans (only the active version counts) and a cancelled deal."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.domain.schedule import PlanRequest
from billing.models import Allocation, Deal, Installment
from billing.selectors.analytics import AnalyticsFilter
from billing.selectors.analytics_figures import (
    cash_in_forecast,
    collection_rate,
    collection_window,
    plan_progress,
)
from billing.services import ScheduleOptions, deal_get_or_create, schedule_replace
from billing.services.payments import PaymentInput, payment_record, payment_refund_record
from billing.time import account_today

pytestmark = pytest.mark.django_db
MANAGERS = (501, 502, None)


@pytest.fixture
def ledger(account):
    """14 deals: plans of 6 lines from 150 days ago to 100 days ahead, every third rebuilt after its first
    payments, payments on time, late and partial, two refunds, one deal cancelled, one outgoing plan."""
    today = account_today(account)
    for offset in range(14):
        deal = deal_get_or_create(account=account, external_id=300 + offset)
        Deal.objects.filter(pk=deal.pk).update(responsible_user_id=600 + offset % 2, name=f"Курс {offset}")
        deal.refresh_from_db()
        manager = MANAGERS[offset % 3]
        first_due = today - timedelta(days=150 - 17 * offset)
        options = ScheduleOptions(manager_id=manager, direction="outgoing" if offset == 13 else "incoming")
        schedule_replace(deal=deal, plan_request=PlanRequest(
            plan="equal", total=Decimal(60000 + 1111 * offset) + Decimal("0.37"), installments_count=6,
            first_due_date=first_due, due_day=None), options=options, request_data={}, created_by=1,
            today=first_due - timedelta(days=5))
        early = payment_record(deal=deal, amount=Decimal("9876.54") + offset, allow_credit=True, payment=PaymentInput(
            method="cloudpayments", paid_at=min(first_due - timedelta(days=1), today), transaction_id=f"tx-{offset}"))
        payment_record(deal=deal, amount=Decimal("15000.01") * (offset % 4), allow_credit=True,
                       payment=PaymentInput(method="cash", paid_at=min(first_due + timedelta(days=40), today)))\
            if offset % 4 else None
        if offset % 3 == 0:  # rebuilt: the money moves onto the new version's lines
            schedule_replace(deal=deal, plan_request=PlanRequest(
                plan="equal", total=Decimal(70000 + 1111 * offset), installments_count=5,
                first_due_date=first_due + timedelta(days=10), due_day=None), options=options, request_data={},
                created_by=1, today=first_due)
        if offset in (4, 7):
            payment_refund_record(original=early, amount=Decimal("3000.00"), transaction_id=f"refund-{offset}",
                                  paid_at=today - timedelta(days=2))
        if offset == 5:
            Deal.objects.filter(pk=deal.pk).update(cancelled_at=timezone.now())
    return account


def _active_lines(account, direction: str = "incoming") -> list[Installment]:
    return [line for line in Installment.objects.select_related("schedule__deal")
            if line.schedule.is_active and line.schedule.deal.account_id == account.pk
            and line.schedule.deal.cancelled_at is None and line.schedule.direction == direction]


def _manager(line: Installment):
    return line.schedule.manager_id or line.schedule.deal.responsible_user_id


def test_the_ledger_has_what_the_figures_must_survive(ledger):
    lines = _active_lines(ledger)
    assert any(Decimal(0) < line.paid < line.amount for line in lines)  # partial payments
    # rebuilt plans: the old versions keep their paid lines as history, which no figure may count
    assert Installment.objects.filter(schedule__is_active=False, paid__gt=0).exists()
    assert ledger.payments.filter(amount__lt=0).count() == 2  # refunds
    for line in Installment.objects.filter(schedule__is_active=True):  # allocations are what `paid` says
        assert sum((a.amount for a in Allocation.objects.filter(installment=line)), Decimal(0)) == line.paid


def test_cash_in_forecast_agrees_with_brute_force_by_week_and_month(ledger, django_assert_max_num_queries):
    today = account_today(ledger)
    with django_assert_max_num_queries(1):
        forecast = cash_in_forecast(account=ledger, flt=AnalyticsFilter(), weeks=8, months=5)
    open_lines = [line for line in _active_lines(ledger) if line.paid < line.amount]
    assert forecast.weeks[0].start == today
    assert forecast.weeks[0].end.weekday() == 6
    assert forecast.months[1].start.day == 1
    assert len(forecast.weeks) == 8
    assert len(forecast.months) == 5
    for period in forecast.weeks + forecast.months:
        inside = [line for line in open_lines if period.start <= line.due_date <= period.end]
        assert period.amount == sum((line.amount - line.paid for line in inside), Decimal(0)), period
        assert period.count == len(inside)
    assert sum(period.count for period in forecast.months) > 0
    # the months cover every open line from today to the horizon, the overdue ones never
    horizon = forecast.months[-1].end
    assert sum((p.amount for p in forecast.months), Decimal(0)) == sum(
        (line.amount - line.paid for line in open_lines if today <= line.due_date <= horizon), Decimal(0))


def test_cash_in_forecast_follows_the_filters(ledger):
    forecast = cash_in_forecast(account=ledger, flt=AnalyticsFilter(manager_id=501))
    open_lines = [line for line in _active_lines(ledger) if line.paid < line.amount and _manager(line) == 501]
    for period in forecast.months:
        assert period.amount == sum((line.amount - line.paid for line in open_lines
                                     if period.start <= line.due_date <= period.end), Decimal(0))
    outgoing = cash_in_forecast(account=ledger, flt=AnalyticsFilter(direction="outgoing"))
    assert sum(p.count for p in outgoing.months) == len(
        [line for line in _active_lines(ledger, "outgoing") if line.paid < line.amount
         and line.due_date <= outgoing.months[-1].end and line.due_date >= outgoing.today])


def _brute_collection(account, start: date, end: date) -> dict:
    figures: dict = {}
    for line in _active_lines(account):
        if not start <= line.due_date <= end:
            continue
        on_time = sum((a.amount for a in Allocation.objects.select_related("payment").filter(installment=line)
                       if a.payment.paid_at <= line.due_date), Decimal(0))
        row = figures.setdefault(_manager(line), [Decimal(0), 0, Decimal(0), 0])
        row[0] += line.amount
        row[1] += 1
        row[2] += on_time
        row[3] += on_time >= line.amount
    return figures


def test_collection_rate_per_manager_agrees_with_brute_force(ledger, django_assert_max_num_queries):
    today = account_today(ledger)
    for flt in (AnalyticsFilter(), AnalyticsFilter(date_from=today - timedelta(days=200)),
                AnalyticsFilter(date_from=today - timedelta(days=60), date_to=today + timedelta(days=30))):
        with django_assert_max_num_queries(1):
            report = collection_rate(account=ledger, flt=flt)
        start, end = collection_window(today=today, flt=flt)
        assert end == today - timedelta(days=1)  # a line due today is not late yet
        brute = _brute_collection(ledger, start, end)
        assert {row.manager_id: [row.due_amount, row.due_count, row.on_time_amount, row.on_time_count]
                for row in report.rows} == brute
        assert report.totals.due_amount == sum((row[0] for row in brute.values()), Decimal(0))
        for row in report.rows:
            assert row.rate_amount == (row.on_time_amount / row.due_amount).quantize(Decimal("0.0001"))
            assert row.rate_count == (Decimal(row.on_time_count) / row.due_count).quantize(Decimal("0.0001"))
    wide = collection_rate(account=ledger, flt=AnalyticsFilter(date_from=today - timedelta(days=200)))
    assert Decimal(0) < wide.totals.on_time_amount < wide.totals.due_amount  # some late, some on time


def test_a_refund_takes_the_on_time_money_back(ledger):
    today = account_today(ledger)
    flt = AnalyticsFilter(date_from=today - timedelta(days=400))
    before = collection_rate(account=ledger, flt=flt).totals.on_time_amount
    deal = Deal.objects.get(external_id=302)
    original = deal.payments.get(transaction_id="tx-2")
    payment_refund_record(original=original, amount=Decimal("1000.00"), transaction_id="refund-late",
                          paid_at=today)
    after = collection_rate(account=ledger, flt=flt)
    assert after.totals.on_time_amount == before - Decimal("1000.00")
    start, end = collection_window(today=today, flt=flt)
    brute = _brute_collection(ledger, start, end)
    assert after.totals.on_time_amount == sum((row[2] for row in brute.values()), Decimal(0))


def test_plan_progress_per_deal_agrees_with_brute_force(ledger):
    with CaptureQueriesContext(connection) as queries:
        progress = plan_progress(account=ledger, flt=AnalyticsFilter())
    assert len(queries) == 1
    by_deal: dict = {}
    for line in _active_lines(ledger):
        by_deal.setdefault(line.schedule.deal.external_id, []).append(line)
    assert [row.external_id for row in progress] == sorted(by_deal)
    assert 305 not in by_deal  # cancelled
    for row in progress:
        lines = by_deal[row.external_id]
        assert row.lines_total == len(lines)
        assert row.lines_paid == sum(line.paid >= line.amount for line in lines)
        assert row.amount_paid == sum((line.paid for line in lines), Decimal(0))
        assert row.amount_total == sum((line.amount for line in lines), Decimal(0))
        unpaid = [line.due_date for line in lines if line.paid < line.amount]
        assert row.next_due_date == (min(unpaid) if unpaid else None)
    rebuilt = next(row for row in progress if row.external_id == 300)
    assert rebuilt.lines_total == 5  # the active version's lines only
    page = plan_progress(account=ledger, flt=AnalyticsFilter(), after_external_id=302, limit=3)
    assert [row.external_id for row in page] == sorted(by_deal)[sorted(by_deal).index(302) + 1:][:3]
    only = plan_progress(account=ledger, flt=AnalyticsFilter(), external_ids=[304])
    assert [row.external_id for row in only] == [304]
