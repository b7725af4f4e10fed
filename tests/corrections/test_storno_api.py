"""Storno: a mistaken offline payment is reversed by a new negative entry with a reason, never deleted."""
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing.events import PAYMENT_REVERSED
from billing.models import Allocation, DomainEvent, Payment
from billing.services.relay import events_relay_run
from crm.models import CrmAction
from tests.conftest import WidgetClient, assert_error

pytestmark = pytest.mark.django_db
LEAD = 31337


@pytest.fixture
def planned(widget, school_plan):
    response = widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan)
    assert response.status_code == 200, response.content
    return response.json()


def pay(widget, amount: str = "15000.00", method: str = "cash") -> dict:
    response = widget.post(f"/api/v1/deals/{LEAD}/payments", {"amount": amount, "method": method,
                                                              "paid_at": "2026-11-20"})
    assert response.status_code == 201, response.content
    return response.json()["payments"][-1]


def reverse(client, payment_id: int, reason: str | None = "ошибочно внесён", **extra):
    body = {} if reason is None else {"reason": reason}
    return client.post(f"/api/v1/payments/{payment_id}/reverse", body, **extra)


def test_a_reversed_cash_payment_reopens_the_debt_with_a_linked_negative_entry_and_an_audit(widget, planned):
    payment = pay(widget)
    response = reverse(widget, payment["id"])
    assert response.status_code == 201, response.content
    deal = response.json()
    assert (deal["paid"], deal["debt"]) == ("0.00", "160000.00")
    assert deal["schedule"]["installments"][0]["paid"] == "0.00"
    original, storno = deal["payments"]
    assert (storno["kind"], storno["amount"], storno["corrects"]) == ("storno", "-15000.00", payment["id"])
    assert (storno["reason"], storno["recorded_by"]) == ("ошибочно внесён", widget.user_id)
    assert original["reversal"]["payment_id"] == storno["id"]
    assert original["reversal"]["reason"] == "ошибочно внесён"
    assert original["reversal"]["by"] == widget.user_id
    assert original["reversal"]["at"]
    assert original["can_reverse"] is False
    # Never a deletion or an edit: the original fact is still there, unchanged.
    assert Payment.objects.get(pk=payment["id"]).amount == Decimal("15000.00")
    event = DomainEvent.objects.get(name=PAYMENT_REVERSED)
    assert event.payload["reason"] == "ошибочно внесён"
    assert event.payload["by"] == widget.user_id
    events_relay_run()  # the CRM feed is a relay handler: it runs after commit
    note = CrmAction.objects.filter(source=PAYMENT_REVERSED, kind=CrmAction.Kind.ADD_NOTE).get()
    assert "сторнирован" in note.payload["text"]
    assert "ошибочно внесён" in note.payload["text"]


def test_reversing_a_full_payment_turns_a_paid_deal_back_to_active(widget, planned):
    response = widget.post(f"/api/v1/deals/{LEAD}/full-payment", {"method": "bank_transfer"})
    assert response.json()["status"] == "paid"
    deal = reverse(widget, response.json()["payments"][-1]["id"], "не тот клиент").json()
    assert deal["status"] == "active"
    assert deal["debt"] == "160000.00"
    assert all(line["status"] != "paid" for line in deal["schedule"]["installments"])


def test_a_reversed_payment_and_its_storno_keep_no_allocations_and_later_payments_fill_the_oldest_line(
        widget, planned):
    first = pay(widget, "10000.00")
    pay(widget, "5000.00")
    deal = reverse(widget, first["id"]).json()
    assert deal["schedule"]["installments"][0]["paid"] == "5000.00"
    assert not Allocation.objects.filter(payment_id=first["id"]).exists()
    assert not Allocation.objects.filter(payment__reversal_of_id=first["id"]).exists()


def test_reversing_twice_is_already_reversed_and_writes_nothing(widget, planned):
    payment = pay(widget)
    reverse(widget, payment["id"])
    assert_error(reverse(widget, payment["id"], "ещё раз"), 422, "already_reversed")
    assert Payment.objects.filter(reversal_of_id=payment["id"]).count() == 1
    assert DomainEvent.objects.filter(name=PAYMENT_REVERSED).count() == 1


def test_the_database_itself_refuses_a_second_storno_and_an_unlinked_negative_payment(widget, planned):
    payment = Payment.objects.get(pk=pay(widget)["id"])
    reverse(widget, payment.pk)
    base = {"account": payment.account, "deal": payment.deal, "method": "cash", "paid_at": payment.paid_at}
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(amount=-payment.amount, reversal_of=payment, **base)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(amount=Decimal("-1.00"), **base)
    with pytest.raises(IntegrityError), transaction.atomic():  # a correction is never positive
        Payment.objects.create(amount=Decimal("1.00"), refund_of=payment, **base)


def test_a_reason_is_required(widget, planned):
    payment = pay(widget)
    assert_error(reverse(widget, payment["id"], None), 422, "validation_error", "reason")
    assert_error(reverse(widget, payment["id"], "   "), 422, "validation_error", "reason")
    assert not Payment.objects.filter(reversal_of_id=payment["id"]).exists()


def test_the_reason_error_speaks_russian(widget, planned):
    payment = pay(widget)
    response = widget.client.post(f"/api/v1/payments/{payment['id']}/reverse", {}, format="json",
                                  HTTP_ACCEPT_LANGUAGE="ru", **widget.headers())
    error = assert_error(response, 422, "validation_error", "reason")
    assert error["fields"]["reason"] == ["Укажите, почему платёж сторнируется."]


def test_an_online_payment_is_not_reversed_but_refunded(widget, planned, account):
    deal = Payment.objects.model.deal.field.related_model.objects.get(external_id=LEAD)
    online = Payment.objects.create(account=account, deal=deal, amount=Decimal("100.00"), method="cloudpayments",
                                    paid_at=deal.created_at.date(), transaction_id="777")
    assert_error(reverse(widget, online.pk), 422, "not_reversible")


def test_a_storno_itself_cannot_be_reversed(widget, planned):
    payment = pay(widget)
    storno_id = reverse(widget, payment["id"]).json()["payments"][-1]["id"]
    assert_error(reverse(widget, storno_id), 422, "not_correctable")


def test_another_accounts_payment_is_not_found(widget, other_account, planned):
    payment = pay(widget)
    assert_error(reverse(WidgetClient(other_account), payment["id"]), 404, "payment_not_found")
    assert not Payment.objects.filter(reversal_of_id=payment["id"]).exists()


def test_a_repeated_reverse_with_the_same_idempotency_key_replays_the_first_answer(widget, planned):
    payment = pay(widget)
    first = widget.post(f"/api/v1/payments/{payment['id']}/reverse", {"reason": "дубль"}, idempotency_key="k-1")
    again = widget.post(f"/api/v1/payments/{payment['id']}/reverse", {"reason": "дубль"}, idempotency_key="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Payment.objects.filter(reversal_of_id=payment["id"]).count() == 1


def test_refunds_from_the_card_are_for_admins_only(widget, planned):
    payment = pay(widget)
    response = widget.post(f"/api/v1/payments/{payment['id']}/refund", {"amount": "1.00", "reason": "x"})
    assert_error(response, 403, "admin_required")
