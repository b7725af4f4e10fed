"""The deal card's autopay block and switch-off over the widget API; the client's failure emails."""
from datetime import date

import pytest
import time_machine
from django.core import mail
from django.utils import translation

from billing.decline_reasons import DeclineKind, decline_reason, decline_text
from billing.models import Invoice
from billing.services.billing_run import billing_run
from tests.autopay.conftest import CLIENT_EMAIL, autopay_plan, first_payment_saves_card, moment, settle
from tests.conftest import WidgetClient, assert_error

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def test_the_deal_shows_the_saved_card_and_the_manager_switches_autopay_off(account, sandbox):
    deal = autopay_plan(account, 8301, count=3, total="30000.00")
    widget = WidgetClient(account)
    autopay = widget.get("/api/v1/deals/8301").json()["autopay"]
    assert autopay == {"offered": True, "enabled": False, "card": None, "charges": []}
    first_payment_saves_card(account, sandbox, deal, exp="09/28")
    body = widget.get("/api/v1/deals/8301").json()["autopay"]
    assert body["enabled"] is True
    assert {key: body["card"][key] for key in ("last_four", "exp", "status", "consent_source")} == {
        "last_four": "4242", "exp": "09/28", "status": "active", "consent_source": "invoice_link"}
    assert body["card"]["consented_at"]
    response = widget.client.delete("/api/v1/deals/8301/autopay", **widget.headers())
    assert response.status_code == 200, response.content
    assert response.json()["enabled"] is False
    assert response.json()["card"]["status"] == "disabled"
    assert response.json()["card"]["disabled_by"] == f"manager:{widget.user_id}"
    again = widget.client.delete("/api/v1/deals/8301/autopay", **widget.headers())
    assert again.status_code == 200
    assert again.json()["enabled"] is False
    assert widget.get("/api/v1/deals/8301/autopay").json()["card"]["last_four"] == "4242"


def test_another_account_cannot_see_or_switch_off_the_card(account, other_account, sandbox):
    deal = autopay_plan(account, 8302, count=3, total="30000.00")
    first_payment_saves_card(account, sandbox, deal)
    stranger = WidgetClient(other_account)
    assert stranger.get("/api/v1/deals/8302/autopay").json()["card"] is None
    stranger.client.delete("/api/v1/deals/8302/autopay", **stranger.headers())
    assert WidgetClient(account).get("/api/v1/deals/8302/autopay").json()["enabled"] is True


def test_a_lead_id_out_of_range_is_a_404_not_a_500(account):
    widget = WidgetClient(account)
    assert_error(widget.client.delete(f"/api/v1/deals/{2**62}/autopay", **widget.headers()), 404)


def test_a_declined_link_payment_emails_the_client_the_reason_and_the_link_once_a_day(account, sandbox):
    autopay_plan(account, 8303, count=3, total="30000.00", autopay=False)
    invoice = Invoice.objects.get(pk=WidgetClient(account).post("/api/v1/deals/8303/invoices", {}).json()["id"])
    mail.outbox.clear()
    sandbox.pay_order(invoice.gateway_order_id, outcome="fail", reason_code=5051)
    sandbox.pay_order(invoice.gateway_order_id, outcome="fail", reason_code=5005)
    settle(sandbox)
    failures = [message for message in mail.outbox if message.to == [CLIENT_EMAIL]]
    assert len(failures) == 1
    [email] = failures
    assert email.subject == f"Оплата по счёту № {invoice.number} не прошла"
    assert "Недостаточно средств" in email.body
    assert "10\u00a0000,00\u00a0₽" in email.body
    assert invoice.payment_url in email.body
    assert email.extra_headers["X-PayPlan-Notice"].startswith("payment_failed:")


def test_each_successful_charge_gets_a_receipt_email(account, sandbox):
    deal = autopay_plan(account, 8304, count=3, total="30000.00")
    first_payment_saves_card(account, sandbox, deal)
    mail.outbox.clear()
    for day in (date(2027, 1, 5), date(2027, 2, 5)):
        with time_machine.travel(moment(day), tick=True):
            assert billing_run().charged == 1
    settle(sandbox)
    receipts = [message for message in mail.outbox if message.subject.startswith("Оплата получена")]
    assert len(receipts) == 2
    assert all("10\u00a0000,00" in message.subject for message in receipts)
    deal.refresh_from_db()
    assert deal.status == "paid"


@pytest.mark.parametrize(("code", "kind", "text"), [
    (5051, DeclineKind.SOFT, "Недостаточно средств"),
    (5054, DeclineKind.HARD, "Истёк срок действия карты"),
    (5043, DeclineKind.HARD, "Карта числится украденной"),
    (5096, DeclineKind.SOFT, "Системная ошибка банка: попробуйте позже"),
    (9999, DeclineKind.SOFT, "Банк отклонил платёж (код 9999)"),
])
def test_decline_reasons_are_plain_russian_and_say_whether_the_card_may_be_charged_again(code, kind, text):
    assert decline_reason(code).kind == kind
    with translation.override("ru"):
        assert decline_text(code) == text
