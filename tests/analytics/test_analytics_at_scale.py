"""Analytics at scale [I]: the summary runs the same few queries whatever the account's size, and its open-line
totals (upcoming, overdue, every aging bucket: one aggregate) agree to the kopeck with a brute-force
recomputation over the active plans' lines (partial payments; a rebuilt plan counts only its active version)."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.domain.schedule import PlanRequest
from billing.models import Installment
from billing.selectors.analytics import AGING_BUCKETS, AnalyticsFilter, analytics_summary
from billing.services import ScheduleOptions, deal_get_or_create, schedule_replace
from billing.services.payments import PaymentInput, payment_record
from billing.time import account_today

pytestmark = pytest.mark.django_db
SUMMARY_QUERIES = 1  # the day rows: rollup totals + the unfolded deals recounted, the interest in received included


def _deals(account, count: int, *, first_lead: int = 100) -> None:
    today = account_today(account)
    for offset in range(count):
        deal = deal_get_or_create(account=account, external_id=first_lead + offset)
        for version in range(1 + offset % 2):  # every other deal rebuilt once: only its active version counts
            schedule_replace(deal=deal, plan_request=PlanRequest(
                plan="equal", total=Decimal(6000 + 1000 * version + 7 * offset), installments_count=6,
                first_due_date=today - timedelta(days=200 - 37 * (offset % 5)), due_day=None),
                options=ScheduleOptions(), request_data={}, created_by=1, today=today - timedelta(days=250))
        if offset % 3:
            payment_record(deal=deal, amount=Decimal("1234.56") + offset, allow_credit=True, payment=PaymentInput(
                method="cash", paid_at=today - timedelta(days=offset)))


def _brute_force(account, flt: AnalyticsFilter, today: date) -> dict:
    open_lines = [line for line in Installment.objects.filter(
        schedule__deal__account=account, schedule__is_active=True, schedule__deal__cancelled_at__isnull=True,
        schedule__direction=flt.direction) if line.paid < line.amount]

    def add(lines) -> tuple[Decimal, int]:
        return sum((line.amount - line.paid for line in lines), Decimal("0.00")), len(lines)

    upcoming = [line for line in open_lines if line.due_date >= today
                and (flt.date_from is None or line.due_date >= flt.date_from)
                and (flt.date_to is None or line.due_date <= flt.date_to)]
    figures = {"upcoming": add(upcoming), "overdue": add([line for line in open_lines if line.due_date < today])}
    for name, from_days, to_days in AGING_BUCKETS:
        figures[name] = add([line for line in open_lines if (today - line.due_date).days >= from_days
                             and (to_days is None or (today - line.due_date).days <= to_days)])
    return figures


def _figures(summary) -> dict:
    figures = {"upcoming": (summary.upcoming.amount, summary.upcoming.count),
               "overdue": (summary.overdue.amount, summary.overdue.count)}
    figures.update({bucket.bucket: (bucket.amount, bucket.count) for bucket in summary.aging})
    return figures


def _summary_queries(account) -> int:
    with CaptureQueriesContext(connection) as captured:
        analytics_summary(account=account, flt=AnalyticsFilter())
    return len(captured.captured_queries)


def test_the_summary_runs_the_same_few_queries_for_two_deals_and_for_twenty(account):
    _deals(account, 2)
    small = _summary_queries(account)
    _deals(account, 18, first_lead=200)
    assert small == _summary_queries(account) == SUMMARY_QUERIES


@pytest.mark.parametrize("days", [None, (0, 30), (-60, 90)])
def test_open_line_totals_agree_to_the_kopeck_with_a_brute_force_count(account, days):
    _deals(account, 15)
    today = account_today(account)
    flt = AnalyticsFilter() if days is None else AnalyticsFilter(date_from=today + timedelta(days=days[0]),
                                                                  date_to=today + timedelta(days=days[1]))
    expected = _brute_force(account, flt, today)
    assert _figures(analytics_summary(account=account, flt=flt)) == expected
    assert expected["overdue"][1] > 0  # the data exercises both sides
    assert expected["upcoming"][1] > 0
