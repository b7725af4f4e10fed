"""Documents speak the account's language: an English account's invoice, receipt, contract, offer and printout
read in English with English money and dates («160,000.00», «2026-12-05», «5 December 2026»), a Russian
account's stay as they were («160 000,00», «05.12.2026»). Every fixed word of a default template comes from the
documents catalogue, so a template word without a Russian translation (or Russian left in a template) fails here.
"""
import re
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation

from billing.models import Deal, Payment
from documents.emails import document_message
from documents.formatting import amount_in_words, currency_sign, date_long, date_short, money_ru, plural
from documents.kinds import Kind
from documents.links import document_link
from documents.safe_render import _environment, render_template
from documents.samples import SAMPLE_REQUISITES_EN, sample_variables
from documents.selectors import default_template_source, document_subject_get
from documents.services import document_pdf_fetch, template_preview, template_save
from tests.documents.test_russian_documents import _english, _visible_text

pytestmark = pytest.mark.django_db

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
CLIENT_NAME = "Иванова Мария Сергеевна"  # the client's own name, as the CRM has it (tests.documents.conftest)


def _english_account(account) -> None:
    account.settings = {**account.settings, "language": "en", "requisites": dict(SAMPLE_REQUISITES_EN)}
    account.save(update_fields=["settings"])


def _cyrillic_left(text: str) -> list[str]:
    return CYRILLIC.findall(text.replace(CLIENT_NAME, ""))


# --- the catalogue ----------------------------------------------------------------------------------------

def _template_messages() -> list[tuple[str, tuple]]:
    found = []
    for kind in Kind:
        for _line, function, message in _environment.extract_translations(default_template_source(kind)):
            found.append((function, message if isinstance(message, tuple) else (message,)))
    return found


def test_every_word_of_the_default_templates_has_a_russian_translation():
    messages = _template_messages()
    assert len(messages) > 100
    untranslated = []
    with translation.override("ru"):
        for function, message in messages:
            if function == "ngettext":
                forms = [translation.ngettext(message[0], message[1], count) for count in (1, 3, 5)]
                if message[0] in forms or message[1] in forms:
                    untranslated.append(message[0])
            elif translation.gettext(message[0]) == message[0] and not re.fullmatch(r"[\W\d_]*", message[0]):
                untranslated.append(message[0])
    assert not untranslated, f"template words without a Russian msgstr in documents/locale: {untranslated}"


@pytest.mark.parametrize("kind", [kind.value for kind in Kind])
def test_no_default_template_carries_a_fixed_russian_word_outside_the_catalogue(kind):
    source = default_template_source(kind)
    assert not CYRILLIC.search(source), CYRILLIC.findall(source)[:20]


# --- formatting -------------------------------------------------------------------------------------------

def test_money_dates_and_words_follow_the_active_language():
    with translation.override("ru"):
        assert money_ru(Decimal("160000")) == "160\u00a0000,00"
        assert date_short(date(2026, 12, 5)) == "05.12.2026"
        assert date_long(date(2027, 1, 5)) == "5 января 2027 г."
        assert amount_in_words(Decimal("160000.50")) == "Сто шестьдесят тысяч рублей 50 копеек"
        assert currency_sign("RUB") == "руб."
        assert plural(5, ("платёж", "платежа", "платежей")) == "платежей"
    with translation.override("en"):
        assert money_ru(Decimal("160000")) == "160,000.00"
        assert money_ru(Decimal("-15.5")) == "-15.50"
        assert date_short(date(2026, 12, 5)) == "2026-12-05"
        assert date_long(date(2027, 1, 5)) == "5 January 2027"
        assert amount_in_words(Decimal("160000.50")) == "One hundred and sixty thousand roubles 50 kopecks"
        assert amount_in_words(Decimal("1.01")) == "One rouble 01 kopeck"
        assert currency_sign("RUB") == "RUB"
        assert plural(5, ("payment", "payments", "payments")) == "payments"


# --- sample data: every default template in both languages -------------------------------------------------

@pytest.mark.parametrize("kind", [kind.value for kind in Kind])
def test_every_default_template_reads_in_english_for_an_english_account(school, kind):
    _english_account(school)
    with translation.override("en"):
        html = render_template(default_template_source(kind), sample_variables(account=school, kind=kind))
    assert 'lang="en"' in html
    text = _visible_text(html)
    assert not _cyrillic_left(text), _cyrillic_left(text)
    assert "160,000.00" in text or "25,000.00" in text


@pytest.mark.parametrize("kind", [kind.value for kind in Kind])
def test_every_default_template_keeps_reading_in_russian(school, kind):
    with translation.override("ru"):
        html = render_template(default_template_source(kind), sample_variables(account=school, kind=kind))
    assert 'lang="ru"' in html
    text = _visible_text(html)
    assert not _english(text), _english(text)
    assert "25 000,00" in text  # _visible_text folds the non-breaking spaces


# --- real documents -------------------------------------------------------------------------------------

def test_an_english_account_s_invoice_reads_in_english_whoever_asks(school, issue_invoice):
    _english_account(school)
    invoice = issue_invoice()
    with translation.override("ru"):  # a Russian browser does not change what the client reads
        document = document_pdf_fetch(account=invoice.account, kind=Kind.INVOICE, object_id=invoice.pk)
        subject = document_subject_get(account=invoice.account, kind=Kind.INVOICE, object_id=invoice.pk)
    assert document.content.startswith(b"%PDF-")
    assert document.title == f"Invoice No. {invoice.number}"
    with translation.override("en"):
        subject = document_subject_get(account=invoice.account, kind=Kind.INVOICE, object_id=invoice.pk)
        text = _visible_text(render_template(default_template_source(Kind.INVOICE), subject.variables))
    assert f"Invoice No. {invoice.number} of " in text
    assert "Payment for services: payment 1 of 3 under the schedule" in text
    assert "10,000.00" in text
    assert "Ten thousand roubles 00 kopecks" in text
    assert re.search(r"Pay no later than \d{4}-\d{2}-\d{2}", text)
    assert not _cyrillic_left(text), _cyrillic_left(text)
    message = document_message(subject=subject, pdf=document.content)
    assert message.subject.startswith(f"Invoice No. {invoice.number}")
    assert not _cyrillic_left(message.subject + message.body), message.body


def test_the_russian_invoice_is_unchanged(issue_invoice):
    invoice = issue_invoice()
    with translation.override("en"):  # an English browser does not change it either
        document = document_pdf_fetch(account=invoice.account, kind=Kind.INVOICE, object_id=invoice.pk)
        subject = document_subject_get(account=invoice.account, kind=Kind.INVOICE, object_id=invoice.pk)
    assert document.title == f"Счёт на оплату № {invoice.number}"
    with translation.override("ru"):
        subject = document_subject_get(account=invoice.account, kind=Kind.INVOICE, object_id=invoice.pk)
        text = _visible_text(render_template(default_template_source(Kind.INVOICE), subject.variables))
    assert f"Счёт на оплату № {invoice.number} от " in text
    assert "Оплата услуг: платёж 1 из 3 по графику" in text
    assert "10 000,00" in text
    assert "Десять тысяч рублей 00 копеек" in text
    assert re.search(r"Оплатить не позднее \d{2}\.\d{2}\.\d{4}", text)
    assert not _english(text), _english(text)


def test_the_client_s_link_serves_the_english_pdf_and_switching_language_remakes_it(school, issue_invoice):
    _english_account(school)
    invoice = issue_invoice()
    path = document_link(account_id=school.pk, kind="invoice", object_id=invoice.pk).split("://", 1)[1]
    path = path[path.index("/"):]
    english = Client().get(path, HTTP_ACCEPT_LANGUAGE="ru")
    assert english.status_code == 200
    assert english["Content-Type"] == "application/pdf"
    school.settings = {**school.settings, "language": "ru"}
    school.save(update_fields=["settings"])
    russian = Client().get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert russian.status_code == 200
    assert russian.content != english.content  # the stored English PDF is not served to a Russian account


def test_an_english_account_s_receipt_reads_in_english(school, issue_invoice):
    from billing.services.payments import PaymentInput, payment_record

    _english_account(school)
    invoice = issue_invoice()
    payment = payment_record(deal=invoice.deal, amount=Decimal("10000.00"), payment=PaymentInput(
        method=Payment.Method.CASH, paid_at=date(2026, 11, 26)))
    with translation.override("en"):
        subject = document_subject_get(account=school, kind=Kind.RECEIPT, object_id=payment.pk)
        text = _visible_text(render_template(default_template_source(Kind.RECEIPT), subject.variables))
        message = document_message(subject=subject, pdf=b"%PDF-")
    assert "Payment confirmation No." in text
    assert "Payment method: In cash" in text
    assert "10,000.00" in text
    assert "Ten thousand roubles 00 kopecks" in text
    assert re.search(r"PAID \d{4}-\d{2}-\d{2}", text)
    assert not _cyrillic_left(text), _cyrillic_left(text)
    assert not _cyrillic_left(message.subject + message.body), message.body


@pytest.mark.parametrize("kind", [kind.value for kind in (Kind.CONTRACT, Kind.OFFER, Kind.SCHEDULE)])
def test_an_english_account_s_deal_documents_read_in_english(school, issue_invoice, kind):
    _english_account(school)
    deal = issue_invoice().deal
    document = document_pdf_fetch(account=school, kind=kind, object_id=deal.pk)
    assert document.content.startswith(b"%PDF-")
    with translation.override("en"):
        subject = document_subject_get(account=school, kind=kind, object_id=deal.pk)
        text = _visible_text(render_template(default_template_source(kind), subject.variables))
    assert not _cyrillic_left(text), _cyrillic_left(text)
    if kind == Kind.CONTRACT:
        assert Deal.objects.get(pk=deal.pk).contract_number.startswith("C-")  # not «Д-»
        assert "AGREEMENT No. C-" in text
        assert "30,000.00 RUB" in text


# --- accounts' own templates ----------------------------------------------------------------------------

def test_an_account_s_own_template_keeps_working_and_may_use_the_catalogue(school, issue_invoice):
    own = ('<html><body><p>Счёт № {{ invoice.number }} на {{ invoice.amount|money }} {{ currency|currency_sign }}</p>'
           '<p>{{ _("Pay no later than %(date)s", date=invoice.due_date|date_short) }}</p></body></html>')
    template_save(account=school, kind=Kind.INVOICE, source=own, updated_by=1)
    invoice = issue_invoice()
    subject = document_subject_get(account=school, kind=Kind.INVOICE, object_id=invoice.pk)
    with translation.override("ru"):
        text = _visible_text(render_template(own, subject.variables))
    assert f"Счёт № {invoice.number} на 10 000,00 руб." in text
    assert "Оплатить не позднее" in text
    assert template_preview(account=school, kind=Kind.INVOICE).content.startswith(b"%PDF-")
    _english_account(school)
    with translation.override("en"):
        text = _visible_text(render_template(own, document_subject_get(
            account=school, kind=Kind.INVOICE, object_id=invoice.pk).variables))
    assert "10,000.00 RUB" in text
    assert "Pay no later than" in text


def test_a_template_s_own_text_given_to_the_catalogue_cannot_build_a_huge_string():
    from documents.safe_render import TemplateProblem

    with pytest.raises(TemplateProblem, match="Widths and precisions"):
        render_template('{{ _("%(a)999999999s", a=1) }}', {})
    with pytest.raises(TemplateProblem, match="Widths and precisions"):
        render_template('{{ ngettext("%(num)99999999d", "%(num)d", 2) }}', {})
    with translation.override("ru"):
        assert render_template('{{ _("Pay no later than %(date)s", date="x") }}', {}) == "Оплатить не позднее x"
