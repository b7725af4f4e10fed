"""What clients read in PDFs and emails has no English left in it: every default template rendered with real
data (a plan with a down payment, an extra charge and money received before the plan) and with the sample
data, and the invoice and receipt emails, read in Russian."""
import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.utils import translation

from billing.domain.schedule import DownPayment, ExtraCharge, PlanRequest
from billing.services import ScheduleOptions, schedule_replace
from billing.services.deals import deal_get_or_create
from documents.emails import document_message
from documents.kinds import DEAL_KINDS, Kind
from documents.safe_render import render_template
from documents.samples import sample_variables
from documents.selectors import default_template_source, document_subject_get
from tests.documents.conftest import with_client

pytestmark = pytest.mark.django_db

ENGLISH_WORDS = re.compile(r"[A-Za-z]{2,}(?:[,;:.]?\s+[A-Za-z]{2,}){2,}")
KEPT_LATIN = ("CloudPayments", "PayPlan", "PDF", "E-mail", "e-mail")


class _Text(HTMLParser):
    """The words a reader sees: text outside <style>, <script> and tags."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        self._hidden += tag in ("style", "script", "head")

    def handle_endtag(self, tag):
        self._hidden -= tag in ("style", "script", "head")

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def _visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _english(text: str) -> list[str]:
    for term in KEPT_LATIN:
        text = text.replace(term, " ")
    text = re.sub(r"https?://\S+", " ", text)
    return ENGLISH_WORDS.findall(text)


@pytest.fixture
def deal_with_every_line(school):
    deal = with_client(deal_get_or_create(account=school, external_id=6101))
    schedule_replace(deal=deal, plan_request=PlanRequest(
        plan="equal", total=Decimal("160000"), already_paid=Decimal("10000"), installments_count=4,
        first_due_date=date(2026, 12, 5), due_day=5, down_payment=DownPayment(Decimal("30000"), date(2026, 12, 1)),
        extra_charges=(ExtraCharge("", Decimal("500")),)), options=ScheduleOptions(), created_by=1,
        today=date(2026, 11, 24))
    deal.refresh_from_db()
    return deal


@pytest.mark.parametrize("kind", [kind.value for kind in Kind])
def test_the_default_templates_with_sample_data_have_no_english(school, kind):
    with translation.override("ru"):
        html = render_template(default_template_source(kind), sample_variables(account=school, kind=kind))
    text = _visible_text(html)
    assert re.search(r"[А-Яа-я]", text)
    assert not _english(text), _english(text)


@pytest.mark.parametrize("kind", [kind.value for kind in DEAL_KINDS])
def test_deal_documents_of_a_real_plan_have_no_english_labels(deal_with_every_line, kind):
    subject = document_subject_get(account=deal_with_every_line.account, kind=kind, object_id=deal_with_every_line.pk)
    html = render_template(default_template_source(kind), subject.variables)
    text = _visible_text(html)
    assert not _english(text), _english(text)
    for engine_label in ("Down payment", "Extra charge", "Installment", "Received before the plan"):
        assert engine_label not in text
    if kind == Kind.SCHEDULE:
        assert "160\u00a0500,00" in text or "160 500,00" in text  # money the Russian way


def test_invoice_pdf_text_and_email_read_in_russian_whatever_the_browser_asked(issue_invoice):
    invoice = issue_invoice()
    subject = document_subject_get(account=invoice.account, kind=Kind.INVOICE, object_id=invoice.pk)
    text = _visible_text(render_template(default_template_source(Kind.INVOICE), subject.variables))
    assert not _english(text), _english(text)
    with translation.override("en"):  # a manager's English browser does not change what the client reads
        message = document_message(subject=subject, pdf=b"%PDF-")
    assert message.subject.startswith(f"Счёт № {invoice.number} на 10\u00a0000,00")
    assert "Здравствуйте, Иванова Мария Сергеевна!" in message.body
    assert not _english(message.subject + " " + message.body), _english(message.body)


def test_receipt_email_reads_in_russian(issue_invoice):
    from billing.models import Payment
    from billing.services.payments import PaymentInput, payment_record

    invoice = issue_invoice()
    payment = payment_record(deal=invoice.deal, amount=Decimal("10000.00"), payment=PaymentInput(
        method=Payment.Method.CASH, paid_at=date(2026, 11, 26)))
    subject = document_subject_get(account=invoice.account, kind=Kind.RECEIPT, object_id=payment.pk)
    message = document_message(subject=subject, pdf=b"%PDF-")
    assert message.subject.startswith("Оплата получена: 10\u00a0000,00")
    assert "Оплачено всего" in message.body
    assert not _english(message.subject + " " + message.body), _english(message.body)
    text = _visible_text(render_template(default_template_source(Kind.RECEIPT), subject.variables))
    assert not _english(text), _english(text)
