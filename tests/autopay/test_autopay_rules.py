"""Autopay's rules over the loopback sandbox: declines, 3-D Secure, expiry, consent, tokens, races."""
import threading
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from billing.errors import ApplicationError
from billing.models import ChargeAttempt, Deal, Invoice, Payment, SavedCard
from billing.services import PaymentInput, payment_record
from billing.services.autopay import autopay_charge, autopay_disable, autopay_enable
from billing.services.billing_run import billing_run
from crm.models import CrmAction
from tests.autopay.conftest import (
    CLIENT_EMAIL,
    CONSENT,
    autopay_plan,
    charges,
    first_payment_saves_card,
    moment,
    pay_link,
    settle,
)
from tests.conftest import WidgetClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

LINE_2 = date(2027, 1, 5)


def tick(day: date):
    with time_machine.travel(moment(day), tick=True):
        return billing_run()


def failure_emails() -> list:
    return [message for message in mail.outbox
            if message.to == [CLIENT_EMAIL] and message.subject.startswith("Автоплатёж не прошёл")]


def test_a_hard_decline_falls_back_at_once_stops_the_card_and_the_next_line_gets_a_link(account, sandbox):
    deal = autopay_plan(account, 8201, count=3, total="30000.00")
    card = first_payment_saves_card(account, sandbox, deal)
    sandbox.script_token(card.token, [5054])  # the bank: expired card, whatever our copy of the expiry says
    report = tick(LINE_2)
    assert (report.charged, report.fallback) == (0, 1)
    settle(sandbox)
    card.refresh_from_db()
    assert card.status == "revoked"
    assert card.disabled_by == "bank"
    invoice = Invoice.objects.get(installment__seq=2)
    assert invoice.status == "issued"
    [email] = failure_emails()
    assert "Истёк срок действия карты." in email.body
    assert invoice.payment_url in email.body
    assert "Автоплатёж по этой карте отключён" in email.body
    # Never a loop: the next line is not charged, it gets the ordinary link.
    assert tick(date(2027, 2, 5)).issued == [Invoice.objects.get(installment__seq=3).number]
    assert len(charges(sandbox)) == 1
    assert len(failure_emails()) == 1


def test_three_d_secure_required_falls_back_to_the_link_and_keeps_the_card(account, sandbox):
    deal = autopay_plan(account, 8202, count=3, total="30000.00")
    card = first_payment_saves_card(account, sandbox, deal)
    sandbox.script_token(card.token, ["3ds"])
    assert tick(LINE_2).fallback == 1
    attempt = ChargeAttempt.objects.get()
    assert (attempt.status, attempt.reason) == ("fallback", "3ds_required")
    card.refresh_from_db()
    assert card.status == "active"
    [email] = failure_emails()
    assert "3-D Secure" in email.body
    assert Invoice.objects.get(installment__seq=2).payment_url in email.body
    # The next line is charged again with the same card.
    assert tick(date(2027, 2, 5)).charged == 1


def test_soft_declines_retry_on_the_account_schedule_then_fall_back_after_the_last(account, sandbox):
    account.settings = {**account.settings, "autopay_retry_days": [2, 5]}
    account.save(update_fields=["settings"])
    deal = autopay_plan(account, 8203, count=3, total="30000.00")
    card = first_payment_saves_card(account, sandbox, deal)
    sandbox.script_token(card.token, [5051, 5051, 5051])
    assert tick(LINE_2).declined == 1
    assert tick(LINE_2 + timedelta(days=1)).declined == 0  # not yet: +2 days
    assert tick(LINE_2 + timedelta(days=2)).declined == 1
    assert tick(LINE_2 + timedelta(days=6)).declined == 0  # +5 after the second attempt
    report = tick(LINE_2 + timedelta(days=7))
    assert (report.declined, report.fallback) == (0, 1)
    assert list(ChargeAttempt.objects.order_by("attempt").values_list("charge_date", "status")) == [
        (LINE_2, "declined"), (LINE_2 + timedelta(days=2), "declined"), (LINE_2 + timedelta(days=7), "fallback")]
    assert SavedCard.objects.get(pk=card.pk).status == "active"  # soft: the card is kept for the next line
    [email] = failure_emails()
    assert "Недостаточно средств." in email.body
    assert tick(LINE_2 + timedelta(days=8)).fallback == 0
    assert len(charges(sandbox)) == 3


def test_an_expired_card_is_never_sent_and_never_tried_again(account, sandbox):
    deal = autopay_plan(account, 8204, count=3, total="30000.00")
    first_payment_saves_card(account, sandbox, deal, exp="12/26")
    assert tick(LINE_2).fallback == 1
    assert tick(date(2027, 2, 5)).fallback == 0
    assert charges(sandbox) == []
    assert Invoice.objects.filter(deal=deal).count() == 3  # line 1's, line 2's fallback, line 3's ordinary


def test_the_charge_is_skipped_when_the_line_is_paid_before_it_is_sent(account, sandbox):
    deal = autopay_plan(account, 8205, count=3, total="30000.00")
    first_payment_saves_card(account, sandbox, deal)
    with time_machine.travel(moment(LINE_2), tick=True):
        payment_record(deal=deal, amount=Decimal("10000.00"), payment=PaymentInput(
            method="cash", paid_at=LINE_2, recorded_by=1))
        assert billing_run().charged == 0
        line = deal.schedules.get(is_active=True).installments.get(seq=2)
        assert autopay_charge(installment_id=line.pk).status == "skipped"
    assert charges(sandbox) == []
    assert ChargeAttempt.objects.count() == 0


def test_a_charge_racing_a_manual_payment_keeps_the_excess_as_credit(account, sandbox):
    deal = autopay_plan(account, 8206, count=2, total="20000.00", first_due_date="2026-12-05")
    first_payment_saves_card(account, sandbox, deal)
    sandbox.set_faults(delay_seconds="1.0")  # the bank answers slowly: the charge is in flight
    line = deal.schedules.get(is_active=True).installments.get(seq=2)
    outcome: list = []

    def charge():
        from django.db import connection

        try:
            with time_machine.travel(moment(LINE_2), tick=True):
                outcome.append(autopay_charge(installment_id=line.pk))
        finally:
            connection.close()

    worker = threading.Thread(target=charge)
    worker.start()
    deadline = time.monotonic() + 10
    while not charges(sandbox) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert charges(sandbox), "the charge never reached the gateway"
    # Meanwhile the client pays the same line at the office; the deal is not locked by the charge.
    payment_record(deal=Deal.objects.get(pk=deal.pk), amount=Decimal("10000.00"), payment=PaymentInput(
        method="cash", paid_at=date(2026, 11, 27), recorded_by=1))
    worker.join(timeout=20)
    sandbox.set_faults(reset=True)
    settle(sandbox)
    assert outcome
    assert outcome[0].status == "succeeded"
    deal.refresh_from_db()
    # Both arrived, nothing is lost and nothing is charged again: the excess is the client's credit.
    assert Payment.objects.filter(deal=deal).count() == 3
    # Credit is how PayPlan keeps money beyond the plan today: a negative debt.
    assert (deal.paid, deal.debt, deal.status) == (Decimal("30000.00"), Decimal("-10000.00"), "paid")
    assert tick(LINE_2).charged == 0
    assert len(charges(sandbox)) == 1


def test_no_answer_leaves_the_attempt_sending_and_the_next_tick_sends_the_same_request(account, sandbox, settings):
    deal = autopay_plan(account, 8207, count=3, total="30000.00")
    first_payment_saves_card(account, sandbox, deal)
    settings.CLOUDPAYMENTS_RETRIES = 0
    sandbox.set_faults(drop_next=1)
    assert tick(LINE_2).pending == 1
    assert ChargeAttempt.objects.get().status == "sending"
    assert tick(LINE_2).charged == 1
    sent = charges(sandbox)
    assert len(sent) == 2
    assert len({call["headers"]["X-Request-ID"] for call in sent}) == 1
    settle(sandbox)
    assert Payment.objects.filter(deal=deal, method="card_token").count() == 1
    assert len([txn for txn in sandbox.ledger.transactions.values() if txn.token]) == 2  # link + one charge


def test_charging_without_consent_or_on_a_plan_without_autopay_is_refused(account, sandbox):
    deal = autopay_plan(account, 8208, count=3, total="30000.00")
    line = deal.schedules.get(is_active=True).installments.get(seq=2)
    with pytest.raises(ApplicationError) as refused:
        autopay_charge(installment_id=line.pk)
    assert refused.value.code == "autopay_no_consent"
    plain = autopay_plan(account, 8209, count=3, total="30000.00", autopay=False)
    with pytest.raises(ApplicationError) as refused:
        autopay_charge(installment_id=plain.schedules.get(is_active=True).installments.get(seq=2).pk)
    assert refused.value.code == "autopay_not_enabled"
    assert charges(sandbox) == []


def test_consent_needs_its_text_time_and_a_token_of_this_deal(account, other_account, sandbox):
    deal = autopay_plan(account, 8210, count=3, total="30000.00")
    response = WidgetClient(account).post(f"/api/v1/deals/{deal.external_id}/invoices", {})
    token = pay_link(sandbox, Invoice.objects.get(pk=response.json()["id"]))
    assert SavedCard.objects.get().status == "offered"  # saved with the payment, never charged without consent
    now = timezone.now()
    cases = [
        ({"token": token, "consent_text": "  ", "consented_at": now}, "autopay_consent_required"),
        ({"token": token, "consent_text": CONSENT, "consented_at": None}, "autopay_consent_required"),
        ({"token": token, "consent_text": CONSENT, "consented_at": now + timedelta(days=1)},
         "autopay_consent_time_invalid"),
        ({"token": "", "consent_text": CONSENT, "consented_at": now}, "autopay_token_required"),
        ({"token": "tk_made_up", "consent_text": CONSENT, "consented_at": now}, "card_token_unknown"),
    ]
    for values, code in cases:
        with pytest.raises(ApplicationError) as refused:
            autopay_enable(deal=deal, **values)
        assert refused.value.code == code, values
    # A token from another account's deal is unknown here, whatever it is.
    from billing.services import deal_get_or_create

    stranger = deal_get_or_create(account=other_account, external_id=deal.external_id)
    with pytest.raises(ApplicationError) as refused:
        autopay_enable(deal=stranger, token=token, consent_text=CONSENT, consented_at=now)
    assert refused.value.code in ("card_token_unknown", "no_plan")
    plain = autopay_plan(account, 8211, count=3, total="30000.00", autopay=False)
    with pytest.raises(ApplicationError) as refused:
        autopay_enable(deal=plain, token=token, consent_text=CONSENT, consented_at=now)
    assert refused.value.code == "autopay_not_offered"
    with pytest.raises(ApplicationError) as refused:
        autopay_enable(deal=autopay_plan(account, 8212, count=3, total="30000.00"), token=token,
                       consent_text=CONSENT, consented_at=now)
    assert refused.value.code == "card_token_unknown"  # another deal's card
    card = autopay_enable(deal=deal, token=token, consent_text=CONSENT, consented_at=now, ip_address="127.0.0.1")
    assert (card.status, card.consent_text, card.consent_source) == ("active", CONSENT, "invoice_link")


def test_a_token_from_another_terminal_is_refused_and_never_charged(account, sandbox):
    deal = autopay_plan(account, 8213, count=3, total="30000.00")
    card = first_payment_saves_card(account, sandbox, deal)
    SavedCard.objects.filter(pk=card.pk).update(public_id="pk_someone_else")
    with time_machine.travel(moment(LINE_2), tick=True):
        line = deal.schedules.get(is_active=True).installments.get(seq=2)
        with pytest.raises(ApplicationError) as refused:
            autopay_charge(installment_id=line.pk)
    assert refused.value.code == "card_token_foreign"
    assert charges(sandbox) == []


def test_switched_off_autopay_sends_the_next_line_as_an_ordinary_link(account, sandbox):
    deal = autopay_plan(account, 8214, count=3, total="30000.00")
    first_payment_saves_card(account, sandbox, deal)
    assert autopay_disable(deal=deal, by="client") is not None
    assert autopay_disable(deal=deal, by="client") is None
    assert tick(LINE_2).issued == [Invoice.objects.get(installment__seq=2).number]
    assert charges(sandbox) == []
    notes = CrmAction.objects.filter(deal=deal, source="autopay_changed").values_list("payload", flat=True)
    assert any("Автоплатёж отключён" in note["text"] for note in notes)


def test_an_answer_lost_past_the_gateways_memory_is_looked_up_not_charged_again(account, sandbox, settings):
    deal = autopay_plan(account, 8215, count=3, total="30000.00")
    first_payment_saves_card(account, sandbox, deal)
    settings.CLOUDPAYMENTS_RETRIES = 0
    settings.CLOUDPAYMENTS_READ_TIMEOUT = 1
    sandbox.set_faults(delay_seconds="2")  # the charge is made, its answer comes after we stopped waiting
    template, sandbox.notify_url_template = sandbox.notify_url_template, None  # and its Pay is lost too
    assert tick(LINE_2).pending == 1
    sandbox.set_faults(reset=True)
    sandbox.notify_url_template = template
    # Two hours later the gateway no longer remembers the X-Request-ID: we ask what became of it instead.
    with time_machine.travel(moment(LINE_2) + timedelta(hours=2), tick=True):
        assert billing_run().charged == 1
    assert len(charges(sandbox)) == 1
    assert [call["path"] for call in sandbox.journal].count("v2/payments/find") == 1
    assert Payment.objects.filter(deal=deal, method="card_token").count() == 1
    assert ChargeAttempt.objects.get().status == "succeeded"
