"""Statement upload records each credit once, suggests the deal, and a confirm is a bank-transfer payment."""
from decimal import Decimal

import pytest

from billing.domain.bank_matching import OpenLine, match_credit
from billing.domain.bank_statement import render_statement
from billing.errors import ApplicationError, Conflict, NotFound
from billing.models import BankDocument, BankStatement, Deal, Payment
from billing.services.bank_statements import (
    bank_document_confirm,
    bank_document_skip,
    bank_document_unconfirm,
    bank_statement_upload,
)
from tests.bank_statements.conftest import OUR

pytestmark = pytest.mark.django_db


def credit(number: str, amount: str, purpose: str, inn: str = "5012000004", payer: str = "40702810600000000002"):
    return {"Номер": number, "Дата": "20.11.2026", "Сумма": amount, "ПлательщикСчет": payer,
            "ПлательщикИНН": inn, "ПолучательСчет": OUR, "ДатаПоступило": "20.11.2026",
            "НазначениеПлатежа": purpose}


def upload(account, documents, **kwargs) -> BankStatement:
    data = render_statement([OUR], documents).encode("cp1251")
    return bank_statement_upload(account=account, data=data, file_name="statement.txt", uploaded_by=7, **kwargs)


def first_line_amount(deal: Deal) -> Decimal:
    line = deal.schedules.get(is_active=True).installments.order_by("seq").first()
    return line.amount


def test_contract_number_and_equal_amount_suggest_the_deal_with_a_reason(deals, account):
    deal, _other = deals
    amount = first_line_amount(deal)
    statement = upload(account, [credit("1", str(amount), "Оплата по дог. Д 2026 000017, взнос 1")])
    document = BankDocument.objects.get(statement=statement)
    assert document.suggested_deal == deal
    assert document.confidence >= 90
    assert document.match_reasons[:2] == ["contract_number", "amount_equal"]


def test_reupload_and_overlapping_statements_record_nothing_twice(deals, account):
    first = upload(account, [credit("1", "100.00", "x"), credit("2", "200.00", "y")])
    again = upload(account, [credit("1", "100.00", "x"), credit("2", "200.00", "y")])
    overlap = upload(account, [credit("2", "200.00", "y"), credit("3", "300.00", "z")])
    assert again.pk == first.pk
    assert (first.documents_new, overlap.documents_total, overlap.documents_new) == (2, 2, 1)
    assert BankDocument.objects.filter(account=account).count() == 3


def test_a_bad_file_records_nothing_and_names_the_line(deals, account):
    data = render_statement([OUR], [credit("1", "100.00", "x")]).replace("Сумма=100.00", "Сумма=1OO").encode("cp1251")
    with pytest.raises(ApplicationError) as error:
        bank_statement_upload(account=account, data=data, file_name="s.txt", uploaded_by=1)
    assert error.value.code == "bad_statement"
    assert "22" in error.value.message
    assert not BankStatement.objects.exists()
    assert not BankDocument.objects.exists()


def test_another_companys_statement_is_refused(deals, account):
    data = render_statement(["40702810900000000099"], [credit("1", "100.00", "x")]).encode("cp1251")
    with pytest.raises(ApplicationError) as error:
        bank_statement_upload(account=account, data=data, file_name="s.txt", uploaded_by=1)
    assert error.value.code == "bad_statement"


def test_confirm_records_a_bank_transfer_linked_to_the_document_and_storno_undoes_a_wrong_match(deals, account):
    deal, other = deals
    amount = first_line_amount(deal)
    upload(account, [credit("5", str(amount), "по договору Д-2026-000017")])
    document = BankDocument.objects.get()
    payment = bank_document_confirm(document=document, confirmed_by=7)
    assert (payment.method, payment.amount, payment.deal_id) == (Payment.Method.BANK_TRANSFER, amount, deal.pk)
    assert payment.bank_document.pk == document.pk
    with pytest.raises(Conflict):
        bank_document_confirm(document=document, confirmed_by=7)
    storno = bank_document_unconfirm(document=document, reason="не тот договор", decided_by=7)
    assert storno.reversal_of_id == payment.pk
    deal.refresh_from_db()
    assert deal.paid == Decimal("0.00")
    moved = bank_document_confirm(document=BankDocument.objects.get(), deal=other, confirmed_by=7)
    assert moved.deal_id == other.pk


def test_a_deal_of_another_account_is_never_matched_nor_confirmed(deals, account, other_account):
    upload(account, [credit("9", "100.00", "по договору Д-2026-000099", inn="7711111111")])
    document = BankDocument.objects.get()
    assert (document.suggested_deal, document.confidence) == (None, 0)
    foreign = Deal.objects.get(account=other_account)
    with pytest.raises(NotFound):
        bank_document_confirm(document=document, deal=foreign, confirmed_by=7)
    assert not Payment.objects.exists()


def test_skip_closes_the_document(deals, account):
    upload(account, [credit("1", "100.00", "x")])
    document = bank_document_skip(document=BankDocument.objects.get(), decided_by=7)
    assert document.status == BankDocument.Status.SKIPPED


def test_invoice_number_is_not_confused_with_a_contract_of_the_same_digits():
    lines = [OpenLine(deal_id=1, installment_id=10, remaining=Decimal("100"), contract_number="Д-2026-000018"),
             OpenLine(deal_id=2, installment_id=20, remaining=Decimal("100"), invoice_id=5,
                      invoice_number="2026-000018", invoice_remaining=Decimal("100"))]
    by_contract = match_credit(purpose="по договору Д-2026-000018", payer_inn="", amount=Decimal("100"), lines=lines)
    by_invoice = match_credit(purpose="Оплата по счету № PP-2026-000018", payer_inn="", amount=Decimal("100"),
                              lines=lines)
    assert (by_contract.deal_id, by_invoice.deal_id, by_invoice.confidence) == (1, 2, 100)


def test_payer_inn_and_amount_of_one_deal_match_without_any_number():
    lines = [OpenLine(deal_id=1, installment_id=10, remaining=Decimal("500"), client_inn="501200000042"),
             OpenLine(deal_id=2, installment_id=20, remaining=Decimal("500"), client_inn="7709000003")]
    match = match_credit(purpose="взнос 2 из 6", payer_inn="501200000042", amount=Decimal("500"), lines=lines)
    assert (match.deal_id, match.confidence, match.reasons) == (1, 90, ("inn_equal", "amount_equal"))


def test_confirming_learns_the_payer_inn_for_a_deal_without_one(deals, account):
    _deal, other = deals
    Deal.objects.filter(pk=other.pk).update(client_inn="")
    upload(account, [credit("8", "100.00", "оплата", inn="771234567890")])
    bank_document_confirm(document=BankDocument.objects.get(), deal=other, confirmed_by=7)
    other.refresh_from_db()
    assert other.client_inn == "771234567890"
