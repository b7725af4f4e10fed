"""The notes a payout plan leaves in amoCRM speak of payouts, never of a client who paid or owes."""
import pytest

from billing.models import Payment
from crm.models import CrmAction
from tests.conftest import WidgetClient

pytestmark = pytest.mark.django_db(transaction=True)
LEAD = 4242
PLAN = {"plan": "equal", "total": "90000.00", "installments_count": 3, "first_due_date": "2027-01-31",
        "due_day": "last"}
PAYMENT_WORDS = ("Клиент", "График платежей", "Долг", "долга", "Оплачено", "Получен платёж")


def notes(lead: int) -> list[str]:
    return [action.payload["text"] for action in CrmAction.objects.filter(external_id=lead,
                                                                          kind="add_note").order_by("id")]


def test_a_payout_plans_notes_speak_of_payouts(account):
    widget = WidgetClient(account)
    widget.put(f"/api/v1/deals/{LEAD}/schedule", {**PLAN, "direction": "outgoing"})
    widget.put(f"/api/v1/deals/{LEAD}/schedule", {**PLAN, "direction": "outgoing", "installments_count": 2})
    widget.post(f"/api/v1/deals/{LEAD}/payments", {"amount": "45000.00", "method": "bank_transfer",
                                                    "paid_at": "2026-11-20"})
    texts = notes(LEAD)
    assert texts[0].startswith("График выплат создан")
    assert texts[1].startswith("График выплат изменён (версия 2)")
    assert texts[2].startswith("Сделана выплата")
    assert all("Осталось выплатить" in text or "осталось выплатить" in text for text in texts)
    for text in texts:
        assert not any(word in text for word in PAYMENT_WORDS), text
    assert Payment.objects.filter(deal__external_id=LEAD).count() == 1


def test_an_incoming_plan_keeps_its_payment_words(account):
    widget = WidgetClient(account)
    widget.put(f"/api/v1/deals/{LEAD}/schedule", PLAN)
    assert notes(LEAD)[0].startswith("График платежей создан")
    assert "Долг" in notes(LEAD)[0]
