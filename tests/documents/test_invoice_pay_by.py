"""An invoice issued for an overdue line never asks to be paid by a day already gone."""
from datetime import date

import pytest
import time_machine

from documents.contexts import invoice_pay_by
from documents.kinds import Kind
from documents.safe_render import render_template
from documents.selectors import default_template_source, document_subject_get

pytestmark = pytest.mark.django_db


def test_pay_by_is_the_due_date_or_the_grace_after_issue_whichever_is_later():
    assert invoice_pay_by(due_date=date(2026, 12, 5), issued_on=date(2026, 12, 1), grace_days=3) == date(2026, 12, 5)
    assert invoice_pay_by(due_date=date(2026, 12, 5), issued_on=date(2027, 1, 20), grace_days=3) == date(2027, 1, 23)


def _invoice_html(school, invoice) -> str:
    subject = document_subject_get(account=school, kind=Kind.INVOICE, object_id=invoice.pk)
    return render_template(default_template_source(Kind.INVOICE), subject.variables), subject.variables


@pytest.mark.parametrize(("grace", "pay_by"), [(None, "23.01.2027"), (5, "25.01.2027")])
def test_an_invoice_for_an_overdue_line_prints_a_pay_by_date_after_its_issue(issue_invoice, school, grace, pay_by):
    if grace is not None:
        school.settings = {**school.settings, "invoice_grace_days": grace}
        school.save(update_fields=["settings"])
    with time_machine.travel("2027-01-20 10:00 +03:00", tick=False):  # line 1 was due on 05.12.2026
        invoice = issue_invoice()
    html, variables = _invoice_html(school, invoice)
    assert f"Оплатить не позднее {pay_by}" in html
    assert "Оплатить не позднее 05.12.2026" not in html
    assert variables["invoice"]["installment_due_date"] == date(2026, 12, 5)


def test_a_payout_plans_schedule_printout_speaks_of_payouts(school, widget):
    widget.put("/api/v1/deals/7001/schedule", {"plan": "equal", "total": "90000.00", "installments_count": 3,
                                               "first_due_date": "2027-01-31", "direction": "outgoing"})
    widget.post("/api/v1/deals/7001/payments", {"amount": "30000.00", "method": "bank_transfer",
                                                "paid_at": "2026-11-20"})
    deal_id = school.deals.get(external_id=7001).pk
    subject = document_subject_get(account=school, kind=Kind.SCHEDULE, object_id=deal_id)
    html = render_template(default_template_source(Kind.SCHEDULE), subject.variables)
    for text in ("График выплат", "Порядок выплат:", "3 выплаты", "Выплачено всего:", "Осталось выплатить:",
                 "Выплачен<"):
        assert text in html, text
    for text in ("График платежей", "Остаток к оплате", "Оплачено всего", "Оплачен<"):
        assert text not in html, text
