"""Autopay through YooKassa's saved payment methods (contracts/yookassa.md §7), with [E]'s rules."""
from datetime import date

import pytest
import time_machine
from django.utils import timezone

from billing.models import ChargeAttempt, Deal, Invoice, Payment, SavedCard
from billing.services.autopay import autopay_charge, autopay_enable
from tests.conftest import WidgetClient
from tests.yookassa.conftest import issue_invoice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

CONSENT = "Я согласен(на) на списание очередных платежей по графику. Отключить автоплатёж можно в любой момент."


def autopay_deal(account, lead_id: int) -> Deal:
    body = {"plan": "equal", "total": "30000.00", "installments_count": 3, "first_due_date": "2026-11-24",
            "due_day": 24, "autopay": True}
    response = WidgetClient(account).put(f"/api/v1/deals/{lead_id}/schedule", body)
    assert response.status_code == 200, response.content
    Deal.objects.filter(external_id=lead_id).update(contact_email="anna@example.ru")
    return Deal.objects.get(external_id=lead_id)


def saved_method(account, yookassa, deal: Deal) -> SavedCard:
    invoice = Invoice.objects.get(pk=issue_invoice(account, deal.external_id)["id"])
    sent = yookassa.payments[invoice.gateway_order_id]
    assert sent["payment_method"]["saved"] is False  # asked to be saved; saved once the payer pays
    yookassa.pay(invoice.gateway_order_id)
    card = SavedCard.objects.get(deal=deal)
    assert (card.gateway, card.status, card.token, card.card_last_four) == (
        "yookassa", "offered", invoice.gateway_order_id, "4477")
    return autopay_enable(deal=deal, token=card.token, consent_text=CONSENT, consented_at=timezone.now())


def second_line(deal: Deal) -> int:
    return deal.schedules.get(is_active=True).installments.get(seq=2).pk


def test_the_saved_method_pays_the_next_line_once_whatever_the_notification_does(yookassa_account, yookassa):
    deal = autopay_deal(yookassa_account, 8101)
    card = saved_method(yookassa_account, yookassa, deal)
    with time_machine.travel(date(2026, 12, 24), tick=True):
        outcome = autopay_charge(installment_id=second_line(deal))
    assert outcome.status == "succeeded"
    yookassa.settle()  # payment.succeeded of the charge, re-read and matched to the same attempt
    charge = [call for call in yookassa.journal
              if call["path"] == "/v3/payments" and "payment_method_id" in call["body"]]
    assert len(charge) == 1
    assert charge[0]["headers"]["Idempotence-Key"].startswith("charge:")
    assert card.token in charge[0]["body"]
    attempt = ChargeAttempt.objects.get()
    assert Payment.objects.filter(transaction_id=attempt.transaction_id).count() == 1
    assert Payment.objects.get(transaction_id=attempt.transaction_id).method == "yookassa"
    assert Deal.objects.get(pk=deal.pk).paid == 20000


def test_a_soft_decline_is_retried_and_a_revoked_method_falls_back_to_a_link(yookassa_account, yookassa):
    deal = autopay_deal(yookassa_account, 8102)
    card = saved_method(yookassa_account, yookassa, deal)
    yookassa.set_faults(charge_outcome="insufficient_funds")
    with time_machine.travel(date(2026, 12, 24), tick=True):
        assert autopay_charge(installment_id=second_line(deal)).status == "declined"
    yookassa.revoke_method(card.token)
    with time_machine.travel(date(2026, 12, 25), tick=True):
        outcome = autopay_charge(installment_id=second_line(deal))
    yookassa.settle()
    assert outcome.status == "fallback"
    card.refresh_from_db()
    assert card.status == "revoked"  # permission_revoked: never charged again
    link = Invoice.objects.filter(installment_id=second_line(deal)).get()
    assert (link.gateway, link.status) == ("yookassa", "issued")
    assert Payment.objects.filter(deal=deal).count() == 1  # only the first line's link payment
