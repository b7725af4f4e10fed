"""Tenancy: a CRM lead id means something only inside its account.

Account B has a plan and a payment on lead X. Account A asking for X gets exactly what it gets for a
lead id nobody uses (its own, empty deal), and whatever A then does on X leaves B's deal as it was.
"""
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Deal, Payment, Schedule

pytestmark = pytest.mark.django_db
B_LEAD = 90001
UNUSED_LEAD = 90002


def _plan() -> dict:
    first_due = timezone.localdate() + timedelta(days=40)
    return {"plan": "equal", "total": "60000.00", "installments_count": 3,
            "first_due_date": first_due.isoformat(), "due_day": first_due.day if first_due.day <= 28 else 28}


def _payment() -> dict:
    return {"amount": "1000.00", "method": "cash", "paid_at": timezone.localdate().isoformat()}


READS = [
    ("get", "/api/v1/deals/{lead}", None),
    ("get", "/api/v1/deals/{lead}/invoices", None),
    ("get", "/api/v1/deals/{lead}/documents/schedule.pdf", None),
]
WRITES = [
    ("post", "/api/v1/deals/{lead}/schedule/preview", _plan),
    ("post", "/api/v1/deals/{lead}/invoices", dict),
    ("post", "/api/v1/deals/{lead}/full-payment", lambda: {"method": "cash",
                                                            "paid_at": timezone.localdate().isoformat()}),
    ("post", "/api/v1/deals/{lead}/payments", _payment),
    ("put", "/api/v1/deals/{lead}/schedule", _plan),
]


@pytest.fixture
def b_deal(other_widget):
    assert other_widget.put(f"/api/v1/deals/{B_LEAD}/schedule", _plan()).status_code == 200
    assert other_widget.post(f"/api/v1/deals/{B_LEAD}/payments", _payment()).status_code == 201
    return Deal.objects.get(account=other_widget.account, external_id=B_LEAD)


def _call(widget, method: str, path: str, body, lead: int):
    url = path.format(lead=lead)
    return widget.get(url) if body is None else widget.send(method, url, body())


def _b_snapshot(deal: Deal) -> tuple:
    deal.refresh_from_db()
    return (deal.status, deal.total, deal.paid, deal.debt, deal.name,
            list(Schedule.objects.filter(deal=deal).values_list("version", "is_active", "total")),
            list(Payment.objects.filter(deal=deal).values_list("amount", "method")))


def _same_as_unused(response) -> bytes:
    content = response.content
    if response.get("Content-Type", "").startswith("application/json"):
        content = json.dumps(response.json(), sort_keys=True).replace(str(B_LEAD), "LEAD").encode()
    return content


@pytest.mark.parametrize(("method", "path", "body"), READS, ids=[path for _, path, _ in READS])
def test_a_lead_id_another_account_uses_reads_exactly_like_an_unused_one(widget, b_deal, method, path, body):
    before = _b_snapshot(b_deal)
    other_tenants = _call(widget, method, path, body, B_LEAD)
    unused = _call(widget, method, path, body, UNUSED_LEAD)

    assert other_tenants.status_code == unused.status_code
    assert _same_as_unused(other_tenants) == _same_as_unused(unused).replace(b"90002", b"LEAD")
    assert _b_snapshot(b_deal) == before


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[path for _, path, _ in WRITES])
def test_writes_on_a_lead_id_another_account_uses_answer_as_for_an_unused_one_and_touch_only_our_deal(
        widget, b_deal, method, path, body):
    before = _b_snapshot(b_deal)
    other_tenants = _call(widget, method, path, body, B_LEAD)
    unused = _call(widget, method, path, body, UNUSED_LEAD)

    assert other_tenants.status_code == unused.status_code, other_tenants.content
    if other_tenants.status_code >= 400:
        assert other_tenants.json()["error"]["code"] == unused.json()["error"]["code"]
    assert _b_snapshot(b_deal) == before
    ours = Deal.objects.get(account=widget.account, external_id=B_LEAD)
    assert ours.pk != b_deal.pk
    assert not Payment.objects.filter(deal=b_deal, account=widget.account).exists()


def test_a_plan_and_payment_of_account_a_on_lead_x_are_invisible_to_b_and_back(widget, other_widget, b_deal):
    b_view = other_widget.get(f"/api/v1/deals/{B_LEAD}").json()
    assert widget.put(f"/api/v1/deals/{B_LEAD}/schedule", {**_plan(), "total": "90000.00"}).status_code == 200
    assert widget.post(f"/api/v1/deals/{B_LEAD}/payments", {**_payment(), "amount": "7777.00"}).status_code == 201

    a_view = widget.get(f"/api/v1/deals/{B_LEAD}").json()
    assert (a_view["total"], a_view["paid"]) == ("90000.00", "7777.00")
    assert other_widget.get(f"/api/v1/deals/{B_LEAD}").json() == b_view
    assert (b_view["total"], b_view["paid"]) == ("60000.00", "1000.00")
    assert Deal.objects.filter(external_id=B_LEAD).count() == 2
