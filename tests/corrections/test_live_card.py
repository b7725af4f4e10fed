"""The card is live: a cheap ETag on the deal (304 while nothing changed) and declines in plain words."""
import pytest
from django.utils import translation

from billing.decline_reasons import DECLINE_REASONS, decline_reason_text
from billing.models import Invoice
from billing.services.invoicing import invoice_reserve
from tests.webhooks.conftest import Notifier, pay_fields

pytestmark = pytest.mark.django_db
LEAD = 31337

# The codes the manager meets most (contract §3.3) must read as words, in Russian and in English.
CODES_IN_WORDS = [5001, 5003, 5004, 5005, 5006, 5007, 5012, 5013, 5014, 5015, 5017, 5019, 5030, 5031, 5033,
                  5034, 5036, 5041, 5043, 5051, 5054, 5055, 5057, 5058, 5059, 5061, 5062, 5063, 5065, 5082,
                  5091, 5092, 5096, 5113, 5204, 5206, 5207, 5300, 5303]


@pytest.mark.parametrize("code", CODES_IN_WORDS)
def test_every_decline_code_of_the_contract_has_a_russian_text(code):
    assert code in DECLINE_REASONS
    with translation.override("ru"):
        text = decline_reason_text(code)
    assert not any("a" <= char.lower() <= "z" for char in text.replace("CVV", "").replace("PIN", "")
                   .replace("3-D Secure", "")), text


def test_known_codes_read_as_the_bank_means_them():
    with translation.override("ru"):
        assert decline_reason_text(5051) == "Недостаточно средств"
        assert decline_reason_text(5054) == "Истёк срок действия карты"
        assert decline_reason_text(5005) == "Отказ эмитента"
        assert decline_reason_text(4999) == "Банк отклонил платёж (код 4999)"
        assert decline_reason_text(None, "The card hold was cancelled.") == "Блокировка суммы на карте отменена."
    with translation.override("en"):
        assert decline_reason_text(5051) == "Insufficient funds"


@pytest.fixture
def invoiced(widget, school_plan, account):
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", school_plan).status_code == 200
    invoice = invoice_reserve(installment_id=account.deals.get(external_id=LEAD).schedules.get().installments
                              .get(seq=1).pk).invoice
    Invoice.objects.filter(pk=invoice.pk).update(status="issued")
    invoice.refresh_from_db()
    return invoice


def get_deal(widget, etag: str | None = None, language: str = "ru"):
    headers = widget.headers()
    if etag:
        headers["HTTP_IF_NONE_MATCH"] = etag
    return widget.client.get(f"/api/v1/deals/{LEAD}", HTTP_ACCEPT_LANGUAGE=language, **headers)


def test_a_declined_payment_shows_on_its_line_and_invoice_with_the_reason_in_russian(widget, invoiced, account):
    response = Notifier(account).post("fail", pay_fields(invoiced, 2001, amount="26666.67", Reason="InsufficientFunds",
                                                         ReasonCode="5051", Status="Declined"))
    assert response.json() == {"code": 0}
    deal = get_deal(widget).json()
    expected = {"code": 5051, "reason_text": "Недостаточно средств", "attempts": 1}
    assert deal["schedule"]["installments"][0]["invoice"]["failure"] == expected
    assert deal["invoices"][0]["failure"] == expected
    assert get_deal(widget, language="en").json()["invoices"][0]["failure"]["reason_text"] == "Insufficient funds"


def test_a_paid_invoice_shows_no_old_decline(widget, invoiced, account):
    notifier = Notifier(account)
    notifier.post("fail", pay_fields(invoiced, 2001, amount="26666.67", ReasonCode="5051", Status="Declined"))
    notifier.post("pay", pay_fields(invoiced, 2002, amount="26666.67"))
    assert get_deal(widget).json()["invoices"][0]["failure"] is None


def test_the_crm_hears_a_decline_in_russian(widget, invoiced, account):
    from billing.services.relay import events_relay_run
    from crm.models import CrmAction

    Notifier(account).post("fail", pay_fields(invoiced, 2001, amount="26666.67", ReasonCode="5054", Status="Declined"))
    events_relay_run()  # the CRM feed is a relay handler: it runs after commit
    note = CrmAction.objects.get(source="payment_failed", kind=CrmAction.Kind.ADD_NOTE)
    assert "Истёк срок действия карты" in note.payload["text"]


def test_the_deal_answers_304_while_nothing_changed_and_200_after_each_kind_of_change(widget, invoiced, account):
    first = get_deal(widget)
    etag = first["ETag"]
    assert etag
    assert first.status_code == 200
    unchanged = get_deal(widget, etag)
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged["ETag"] == etag

    notifier = Notifier(account)
    changes = [
        lambda: notifier.post("fail", pay_fields(invoiced, 2001, amount="26666.67", ReasonCode="5051",
                                                 Status="Declined")),
        lambda: notifier.post("pay", pay_fields(invoiced, 2002, amount="26666.67")),
        lambda: notifier.post("refund", {"TransactionId": "2003", "PaymentTransactionId": "2002",
                                         "Amount": "100.00", "DateTime": "2026-11-24 10:20:00"}),
        lambda: widget.post(f"/api/v1/deals/{LEAD}/payments", {"amount": "50.00", "method": "cash",
                                                               "paid_at": "2026-11-20"}),
    ]
    for change in changes:
        assert change().status_code in (200, 201)
        changed = get_deal(widget, etag)
        assert changed.status_code == 200, "a change to the card's facts must change its ETag"
        assert changed["ETag"] != etag
        etag = changed["ETag"]
        assert get_deal(widget, etag).status_code == 304


def test_a_rebuilt_plan_changes_the_etag(widget, invoiced, school_plan):
    etag = get_deal(widget)["ETag"]
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", {**school_plan, "installments_count": 4}).status_code == 200
    assert get_deal(widget, etag).status_code == 200


def test_the_etag_of_another_deal_never_matches(widget, invoiced, other_widget):
    etag = get_deal(widget)["ETag"]
    response = other_widget.client.get(f"/api/v1/deals/{LEAD}", HTTP_IF_NONE_MATCH=etag, **other_widget.headers())
    assert response.status_code == 200
