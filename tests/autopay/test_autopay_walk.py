"""A 12-month autopay plan walked through every date over loopback HTTP: soft declines retried on the
schedule, a card expiring midway falls back to the invoice link once, the client saves a new card, the plan
ends paid; every tick runs twice and charges nothing twice."""
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from billing.models import ChargeAttempt, Deal, Invoice, Payment, SavedCard
from billing.services.billing_run import billing_run
from crm.models import CrmAction
from tests.autopay.conftest import (
    CLIENT_EMAIL,
    autopay_plan,
    charges,
    consent,
    first_payment_saves_card,
    moment,
    pay_link,
    settle,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def test_a_twelve_month_autopay_plan_ends_paid_with_the_fallback_link_used_once(account, sandbox):
    deal = autopay_plan(account, 8101)
    # Line 1 by the invoice link, the client agreeing to autopay; the card is good through May 2027.
    card = first_payment_saves_card(account, sandbox, deal, exp="05/27")
    assert (card.status, card.card_last_four, card.card_exp) == ("active", "4242", "05/27")
    # The charges in order: line 2 declined once (retried the next day), line 4 declined twice (5051 then
    # 5096, retried +1 and +3 days), every other charge approved.
    sandbox.script_token(card.token, [5051, 0, 0, 5051, 5096])
    mail.outbox.clear()
    day, last = date(2026, 12, 5), date(2027, 11, 10)
    fallback_paid = False
    while day <= last:
        with time_machine.travel(moment(day), tick=True):
            first = billing_run()
            again = billing_run()
            assert (again.charged, again.declined, again.fallback, again.issued) == (0, 0, 0, []), day
            settle(sandbox)
            if first.fallback:
                assert day == date(2027, 6, 5), "only the line after the card's expiry falls back"
                invoice = Invoice.objects.get(charge_attempts__isnull=False)
                assert invoice.status == "issued"
                assert invoice.installment.seq == 7
                # The client pays the link and saves a new card, agreeing again.
                new_token = pay_link(sandbox, invoice, card="5555555555554444", exp="12/30")
                consent(Deal.objects.get(pk=deal.pk), new_token)
                fallback_paid = True
        day += timedelta(days=1)
    settle(sandbox)

    deal.refresh_from_db()
    assert (deal.status, deal.debt, deal.paid) == ("paid", Decimal("0.00"), Decimal("120000.00"))
    assert fallback_paid
    # The fallback link was used once: two invoices in all (line 1's and line 7's).
    assert Invoice.objects.filter(deal=deal).count() == 2
    assert ChargeAttempt.objects.filter(status="fallback").count() == 1
    attempts = Counter(ChargeAttempt.objects.values_list("installment__seq", flat=True))
    assert attempts == {2: 2, 3: 1, 4: 3, 5: 1, 6: 1, 7: 1, 8: 1, 9: 1, 10: 1, 11: 1, 12: 1}
    # Twice-run ticks: one request per attempt actually sent (line 7's expired card was never sent).
    sent = charges(sandbox)
    assert len(sent) == 13
    assert len({call["headers"]["X-Request-ID"] for call in sent}) == 13
    assert {call["body"]["TrInitiatorCode"] for call in sent} == {0}
    assert {call["body"]["PaymentScheduled"] for call in sent} == {1}
    assert Payment.objects.filter(deal=deal, method="card_token").count() == 10
    assert Payment.objects.filter(deal=deal, method="cloudpayments").count() == 2
    assert SavedCard.objects.get(card_last_four="4242").status == "revoked"
    assert SavedCard.objects.get(card_last_four="4444").status == "active"

    to_client = [message for message in mail.outbox if message.to == [CLIENT_EMAIL]]
    failures = [message for message in to_client if message.subject.startswith("Автоплатёж не прошёл")]
    assert len(failures) == 1
    assert "Истёк срок действия карты." in failures[0].body
    assert "10\u00a0000,00\u00a0₽" in failures[0].subject
    assert Invoice.objects.get(installment__seq=7).payment_url in failures[0].body
    receipts = [message for message in to_client if message.subject.startswith("Оплата получена")]
    assert len(receipts) == 11  # every charge and the fallback link (line 1's went before the walk)
    # No invoice email for the fallback link: the failure email carries it.
    assert not [message for message in to_client if message.subject.startswith("Счёт №")]
    tasks = CrmAction.objects.filter(deal=deal, kind="create_task", source="autopay_failed")
    assert tasks.count() == 1
    assert "Истёк срок действия карты." in tasks.get().payload["text"]
