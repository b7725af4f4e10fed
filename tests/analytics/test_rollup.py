"""The analytics rollup [I]: figures (summary, aging, forecast, collection rate, worklist count) from the day
totals (+ a live recount of the deals changed since the last fold) are exactly what counting every line and
payment gives: before any fold, after it, and after more changes. Folding is idempotent; a rebuild changes
nothing; only counted changes mark a deal; a fold never waits on a payment in flight."""
import contextlib
import random
import threading
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.db.models import F
from django.test import override_settings

from billing.domain.schedule import PlanRequest
from billing.dunning.worklist import debtors_count, debtors_lines
from billing.errors import ApplicationError
from billing.models import AnalyticsDayTotal, AnalyticsDealDay, AnalyticsStaleDeal, Deal, Installment, Payment
from billing.selectors.analytics import AnalyticsFilter, analytics_summary
from billing.selectors.analytics_figures import cash_in_forecast, collection_rate
from billing.services import ScheduleOptions, deal_get_or_create, schedule_replace
from billing.services.analytics_rollup import analytics_rollup_check, analytics_rollup_fold, analytics_rollup_rebuild
from billing.services.corrections import payment_reverse
from billing.services.deals import deal_cancel
from billing.services.payments import PaymentInput, payment_record
from billing.time import account_today

pytestmark = pytest.mark.django_db
MANAGERS = (501, 502, None)


def _plan(deal, today, rng: random.Random, *, manager_id=None) -> None:
    interest = rng.random() < 0.4  # an annuity: its lines carry interest, paid before their principal
    schedule_replace(deal=deal, plan_request=PlanRequest(
        plan="annuity" if interest else "equal", total=Decimal(rng.randrange(3000, 90000)) + Decimal("0.37"),
        installments_count=rng.randrange(1, 7), first_due_date=today + timedelta(days=rng.randrange(-200, 60)),
        due_day=None, annual_rate=Decimal("18") if interest else Decimal(0)),
        options=ScheduleOptions(manager_id=manager_id), request_data={}, created_by=1,
        today=today - timedelta(days=250))


def _random_change(account, today, rng: random.Random, deals: list) -> None:
    """A payment, a rebuilt plan, a storno, a moved payment, a deal's group, manager or cancellation; a change
    the rules refuse (a plan below what was paid) changes nothing, as in the product."""
    with contextlib.suppress(ApplicationError):
        _change(today, rng, deals)


def _change(today, rng: random.Random, deals: list) -> None:
    deal = rng.choice(deals)
    deal.refresh_from_db()
    action = rng.choice(("pay", "pay", "pay", "rebuild", "reverse", "group", "manager", "cancel", "move"))
    if deal.cancelled_at is not None:
        action = "pay_other"
    if action in ("pay", "pay_other"):
        target = rng.choice(list(Deal.objects.filter(pk__in=[item.pk for item in deals], cancelled_at__isnull=True)
                                 .order_by("pk")) or [deal])
        if target.cancelled_at is not None:
            return
        payment_record(deal=target, amount=Decimal(rng.randrange(100, 30000)) + Decimal("0.01"), allow_credit=True,
                       payment=PaymentInput(method=rng.choice(("cash", "bank_transfer")),
                                            paid_at=today - timedelta(days=rng.randrange(0, 40))))
    elif action == "rebuild":
        _plan(deal, today, rng, manager_id=rng.choice(MANAGERS))
    elif action == "reverse":
        payment = Payment.objects.filter(deal=deal, amount__gt=0, method__in=Payment.REVERSIBLE_METHODS,
                                         reversal_of__isnull=True, reversal__isnull=True).first()
        if payment is not None:
            payment_reverse(payment=payment, reason="Ошибка кассира", reversed_by=1)
    elif action == "group":
        Deal.objects.filter(pk=deal.pk).update(group=rng.choice(("", "A", "B")), responsible_user_id=rng.choice(
            MANAGERS))
    elif action == "manager":
        deal.schedules.filter(is_active=True).update(manager_id=rng.choice(MANAGERS))
    elif action == "cancel":
        deal_cancel(deal=deal, reason="Клиент отказался")
    elif action == "move":
        Payment.objects.filter(deal=deal).update(paid_at=today - timedelta(days=rng.randrange(0, 90)))


def _deals(account, count: int, rng: random.Random) -> list:
    today = account_today(account)
    deals = []
    for offset in range(count):
        deal = deal_get_or_create(account=account, external_id=900 + offset)
        Deal.objects.filter(pk=deal.pk).update(group=("A", "B", "")[offset % 3],
                                               responsible_user_id=MANAGERS[offset % 3])
        _plan(deal, today, rng, manager_id=MANAGERS[(offset + 1) % 3] if offset % 2 else None)
        deals.append(deal)
    return deals


FILTERS = (AnalyticsFilter(), AnalyticsFilter(group="A"), AnalyticsFilter(manager_id=501),
           AnalyticsFilter(manager_id=502, group="B"), AnalyticsFilter(direction="outgoing"))


def _all_figures(account) -> list:
    today = account_today(account)
    figures = []
    for flt in FILTERS:
        ranged = AnalyticsFilter(**{**flt.__dict__, "date_from": today - timedelta(days=30),
                                    "date_to": today + timedelta(days=20)})
        for each in (flt, ranged):
            forecast = cash_in_forecast(account=account, flt=each)
            figures.append((analytics_summary(account=account, flt=each), forecast.weeks, forecast.months,
                            collection_rate(account=account, flt=each),
                            [debtors_count(account=account, flt=each, today=today, bucket=bucket)
                             for bucket in (None, "due_next_7_days", "overdue_1_30", "overdue_over_180")]))
    return figures


def _counted(account) -> list:
    """The same figures with the rollup off: every line and payment counted (the selectors' other path)."""
    with override_settings(PAYPLAN_ANALYTICS_ROLLUP=False):
        return _all_figures(account)


def _totals_are_the_deal_days_summed() -> None:
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT count(*) FROM (
              SELECT account_id, direction, deal_group, education_direction, manager_id, day,
                     sum(due_amount), sum(due_count), sum(open_amount), sum(open_count), sum(received_amount),
                     sum(received_count) FROM billing_analyticsdealday GROUP BY 1, 2, 3, 4, 5, 6
              EXCEPT
              SELECT account_id, direction, deal_group, education_direction, manager_id, day, due_amount, due_count,
                     open_amount, open_count, received_amount, received_count FROM billing_analyticsdaytotal
               WHERE due_count <> 0 OR open_count <> 0 OR received_count <> 0 OR due_amount <> 0
                  OR open_amount <> 0 OR received_amount <> 0) differ""")
        assert cursor.fetchone()[0] == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollup_figures_equal_a_full_count_before_and_after_folds(account, seed):
    rng = random.Random(seed)
    deals = _deals(account, 12, rng)
    for deal in deals:  # every plan partly paid (interest plans: interest first), some payments late
        payment_record(deal=deal, amount=Decimal(rng.randrange(500, 40000)) + Decimal("0.03"), allow_credit=True,
                       payment=PaymentInput(method="cash", paid_at=account_today(account) - timedelta(
                           days=rng.randrange(0, 120))))
    for _ in range(15):
        _random_change(account, account_today(account), rng, deals)
    assert AnalyticsStaleDeal.objects.exists()
    assert any(summary.received_interest for summary, *_rest in _counted(account))  # interest plans were paid
    assert _all_figures(account) == _counted(account)  # nothing folded: all live

    report = analytics_rollup_fold()
    assert report.deals == len(deals)
    assert not AnalyticsStaleDeal.objects.exists()
    _totals_are_the_deal_days_summed()
    assert _all_figures(account) == _counted(account)  # all from the totals

    for _ in range(10):
        _random_change(account, account_today(account), rng, deals)
    assert _all_figures(account) == _counted(account)  # totals + the changed deals live
    analytics_rollup_fold(batch_deals=3)
    _totals_are_the_deal_days_summed()
    assert _all_figures(account) == _counted(account)


def test_a_second_fold_does_nothing_and_a_rebuild_changes_no_figure(account):
    _deals(account, 6, random.Random(7))
    analytics_rollup_fold()
    before = list(AnalyticsDayTotal.objects.order_by("direction", "deal_group", "manager_id", "day").values())
    assert analytics_rollup_fold().deals == 0
    analytics_rollup_rebuild(account_id=account.pk)
    after = list(AnalyticsDayTotal.objects.order_by("direction", "deal_group", "manager_id", "day").values())
    strip = [{key: value for key, value in row.items() if key != "id"} for row in before]
    assert strip == [{key: value for key, value in row.items() if key != "id"} for row in after]
    assert not AnalyticsStaleDeal.objects.exists()


def test_only_counted_changes_mark_a_deal_stale(account):
    deal, = _deals(account, 1, random.Random(3))
    analytics_rollup_fold()
    Deal.objects.filter(pk=deal.pk).update(debt=Decimal("1.00"), name="Другое имя")  # analytics reads neither
    Installment.objects.filter(schedule__deal=deal).update(label="Взнос")
    assert not AnalyticsStaleDeal.objects.exists()
    Deal.objects.filter(pk=deal.pk).update(education_direction="Музыка")
    assert list(AnalyticsStaleDeal.objects.values_list("deal_id", "account_id")) == [(deal.pk, account.pk)]


def test_the_worklist_count_is_its_lines(account):
    _deals(account, 10, random.Random(5))
    analytics_rollup_fold()
    today = account_today(account)
    for bucket in (None, "due_next_7_days", "overdue_1_30", "overdue_31_90", "overdue_91_180", "overdue_over_180"):
        flt = AnalyticsFilter(group="A")
        assert debtors_count(account=account, flt=flt, today=today, bucket=bucket) == debtors_lines(
            account=account, flt=flt, today=today, bucket=bucket).count()


@pytest.mark.django_db(transaction=True)
def test_a_fold_never_waits_on_a_payment_in_flight(account):
    """A payment's transaction holds its lines; the fold only reads them (and its own tables): it finishes
    while the payment is open, and the payment, once committed, is counted."""
    deal, = _deals(account, 1, random.Random(11))
    analytics_rollup_fold()
    holding, release, errors = threading.Event(), threading.Event(), []

    def pay_slowly():
        try:
            with transaction.atomic():
                payment_record(deal=Deal.objects.get(pk=deal.pk), amount=Decimal("700.00"), allow_credit=True,
                               payment=PaymentInput(method="cash", paid_at=account_today(account)))
                holding.set()
                release.wait(30)
        except Exception as exc:
            errors.append(exc)
        finally:
            holding.set()
            connections.close_all()

    payer = threading.Thread(target=pay_slowly)
    payer.start()
    assert holding.wait(30)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '5s'")  # a wait would fail the fold, not hang the test
        AnalyticsStaleDeal.objects.create(deal_id=deal.pk, account_id=account.pk)
        assert analytics_rollup_fold().deals == 1
    finally:
        release.set()
        payer.join(30)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
    assert not errors
    assert AnalyticsStaleDeal.objects.filter(deal_id=deal.pk).exists()  # the payment's own mark, kept
    assert _all_figures(account) == _counted(account)
    analytics_rollup_fold()
    assert _all_figures(account) == _counted(account)
    assert AnalyticsDealDay.objects.filter(deal_id=deal.pk, received_amount=Decimal("700.00")).exists()


def test_the_check_finds_figures_written_around_the_triggers_and_a_rebuild_repairs_them(account):
    deals = _deals(account, 5, random.Random(13))
    analytics_rollup_fold()
    assert analytics_rollup_check(account_id=account.pk) == []
    call_command("payplan_analytics_rollup", "--check", "--account", str(account.pk), stdout=StringIO())

    AnalyticsDayTotal.objects.filter(account_id=account.pk, open_count__gt=0).update(open_amount=F("open_amount") + 1)
    differences = analytics_rollup_check(account_id=account.pk)
    assert differences
    assert all(row["kept_open_amount"] == row["counted_open_amount"] + 1 for row in differences)
    with pytest.raises(CommandError, match="differ"):
        call_command("payplan_analytics_rollup", "--check", "--account", str(account.pk), stdout=StringIO())

    out = StringIO()
    call_command("payplan_analytics_rollup", "--rebuild", "--account", str(account.pk), stdout=out)
    assert f"{len(deals)} deals folded" in out.getvalue()
    assert analytics_rollup_check(account_id=account.pk) == []
    assert _all_figures(account) == _counted(account)
