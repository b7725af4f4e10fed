"""Open-ended recurring plans over real PostgreSQL: the horizon stays 3 unpaid periods ahead after payments
and after a week of downtime, ticks run twice add nothing, the next date advances after each payment, and a
price change, a pause, a resume and a cancel are versions with their reason."""
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.models import Deal, Installment, Schedule
from billing.services.billing_run import billing_run
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db
LEAD = 5151
MONTHLY = {"plan": "recurring", "installment_amount": "5000.00", "period": "month", "first_due_date": "2026-12-05",
           "due_day": 5}


def lines(lead=LEAD):
    return list(Installment.objects.filter(schedule__deal__external_id=lead, schedule__is_active=True).order_by("seq"))


def ahead(today: date, lead=LEAD) -> list[date]:
    return [line.due_date for line in lines(lead) if line.paid < line.amount and line.due_date >= today]


def tick_twice(today: date | None = None) -> None:
    billing_run(today=today)
    billing_run(today=today)


@pytest.mark.parametrize("price", ["0", "0.00", "-100.00"])
def test_a_recurring_plan_with_zero_or_negative_price_is_refused(widget, price):
    response = widget.put(f"/api/v1/deals/{LEAD}/schedule", {**MONTHLY, "installment_amount": price})
    assert_error(response, 422, field="installment_amount")
    assert not Schedule.objects.filter(deal__external_id=LEAD).exists()
    response = widget.post(f"/api/v1/deals/{LEAD}/schedule/preview", {**MONTHLY, "installment_amount": price})
    assert_error(response, 422, field="installment_amount")


def test_a_recurring_plan_needs_a_price_but_no_total(widget):
    body = {key: value for key, value in MONTHLY.items() if key != "installment_amount"}
    assert_error(widget.put(f"/api/v1/deals/{LEAD}/schedule", body), 422, field="installment_amount")
    assert_error(widget.put(f"/api/v1/deals/{LEAD}/schedule", {"plan": "equal", "installments_count": 3,
                                                               "first_due_date": "2026-12-05"}), 422, field="total")


def test_the_horizon_stays_three_periods_after_payments_and_ticks_run_twice_add_nothing(widget):
    response = widget.put(f"/api/v1/deals/{LEAD}/schedule", MONTHLY)
    assert response.status_code == 200, response.content
    today = date(2026, 11, 27)
    assert [line.due_date for line in lines()] == [date(2026, 12, 5), date(2027, 1, 5), date(2027, 2, 5)]
    tick_twice()
    assert len(lines()) == 3
    deal = widget.get(f"/api/v1/deals/{LEAD}").json()
    assert (deal["status"], deal["next_due"]["due_date"], deal["subscription"]["state"]) == (
        "active", "2026-12-05", "active")

    for paid_count in (1, 2, 3):
        response = widget.post(f"/api/v1/deals/{LEAD}/payments", {"amount": "5000.00", "method": "cash",
                                                                  "paid_at": "2026-11-27"})
        assert response.status_code == 201, response.content
        assert len(ahead(today)) == 3  # refilled in the payment's own transaction
        assert len(lines()) == 3 + paid_count
        body = response.json()
        assert body["status"] == "active"  # never "paid off": it runs until cancelled
        assert body["next_due"]["due_date"] == ahead(today)[0].isoformat()
        tick_twice()
        assert len(lines()) == 3 + paid_count
    assert ahead(today)[0] == date(2027, 3, 5)  # the next date advanced after each payment
    schedule = Schedule.objects.get(deal__external_id=LEAD, is_active=True)
    assert schedule.version == 1
    assert schedule.total == Decimal("30000.00") == schedule.debt


def test_a_week_of_downtime_catches_up_the_missed_period_and_keeps_the_horizon(widget, frozen_clock):
    weekly = {"plan": "recurring", "installment_amount": "1500.00", "period": "week", "every": 1,
              "first_due_date": "2026-11-30"}
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", weekly).status_code == 200
    assert [line.due_date for line in lines()] == [date(2026, 11, 30), date(2026, 12, 7), date(2026, 12, 14)]
    frozen_clock.move_to(datetime(2026, 12, 8, 9, 0, tzinfo=UTC))  # a week and a day without a tick
    tick_twice()
    due_dates = [line.due_date for line in lines()]
    assert due_dates == [date(2026, 11, 30), date(2026, 12, 7), date(2026, 12, 14), date(2026, 12, 21),
                         date(2026, 12, 28)]
    assert len(ahead(date(2026, 12, 8))) == 3
    assert Deal.objects.get(external_id=LEAD).status == "overdue"  # the missed periods are owed


def test_every_n_weeks(widget):
    body = {"plan": "recurring", "installment_amount": "700.00", "period": "week", "every": 3,
            "first_due_date": "2026-12-01"}
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", body).status_code == 200
    assert [line.due_date for line in lines()] == [date(2026, 12, 1), date(2026, 12, 22), date(2027, 1, 12)]


def test_price_change_pause_resume_and_cancel_are_versions_with_their_reason(widget, frozen_clock):
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", {**MONTHLY, "first_due_date": "2026-11-05"}).status_code == 200
    billing_run()
    assert widget.post(f"/api/v1/deals/{LEAD}/payments", {"amount": "5000.00", "method": "cash",
                                                          "paid_at": "2026-11-05"}).status_code == 201
    url = f"/api/v1/deals/{LEAD}/subscription"
    response = widget.post(url, {"action": "price", "price": "6000.00", "reason": "Новый тариф"})
    assert response.status_code == 200, response.content
    assert response.json()["subscription"] | {"price": None} == {
        "state": "active", "price": None, "period": "month", "every": 1, "reason": "Новый тариф", "change": "price"}
    amounts = [(line.due_date, line.amount) for line in lines()]
    assert amounts[0] == (date(2026, 11, 5), Decimal("5000.00"))  # the current period keeps its price
    assert all(amount == Decimal("6000.00") for _, amount in amounts[1:])
    assert len(ahead(date(2026, 11, 27))) == 3

    response = widget.post(url, {"action": "pause", "reason": "Клиент в отпуске"})
    assert response.json()["subscription"]["state"] == "paused"
    assert [line.due_date for line in lines()] == [date(2026, 11, 5)]
    assert response.json()["status"] == "active"  # paid up to date, not finished
    frozen_clock.move_to(datetime(2027, 2, 10, 9, 0, tzinfo=UTC))
    tick_twice()
    assert len(lines()) == 1  # a paused plan does not grow

    response = widget.post(url, {"action": "resume", "reason": "Вернулся"})
    assert response.status_code == 200, response.content
    assert [line.due_date for line in lines()] == [date(2026, 11, 5), date(2027, 3, 5), date(2027, 4, 5),
                                                   date(2027, 5, 5)]  # the pause is not billed

    response = widget.post(url, {"action": "cancel", "reason": "Отказ от подписки"})
    assert response.json()["subscription"]["state"] == "cancelled"
    assert response.json()["status"] == "paid"  # what was due is paid: the subscription is over
    tick_twice()
    assert len(lines()) == 1
    versions = list(Schedule.objects.filter(deal__external_id=LEAD).order_by("version")
                    .values_list("version", "request__change", "request__reason"))
    assert versions == [(1, None, ""), (2, "price", "Новый тариф"), (3, "pause", "Клиент в отпуске"),
                        (4, "resume", "Вернулся"), (5, "cancel", "Отказ от подписки")]
    assert_error(widget.post(url, {"action": "pause"}), 422, code="subscription_state")


def test_subscription_changes_refuse_bad_input_and_other_plans(widget, other_widget):
    url = f"/api/v1/deals/{LEAD}/subscription"
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", {"plan": "full", "total": "1000.00",
                                                         "first_due_date": "2026-12-01"}).status_code == 200
    assert_error(widget.post(url, {"action": "pause"}), 422, code="not_recurring")
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", MONTHLY).status_code == 200
    assert_error(widget.post(url, {"action": "price", "price": "0"}), 422, field="price")
    assert_error(widget.post(url, {"action": "price"}), 422, field="price")
    assert_error(widget.post(url, {"action": "explode"}), 422, field="action")
    assert_error(widget.post(url, {"action": "resume"}), 422, code="subscription_state")
    assert_error(other_widget.post(url, {"action": "pause"}), 422, code="not_recurring")  # B has no such plan
    assert Schedule.objects.filter(deal__external_id=LEAD, deal__account=widget.account).count() == 2
