"""Reads for bank statement import: a statement with its documents and their match suggestions."""
from django.utils.translation import gettext as _

from billing.errors import NotFound
from billing.models import Account, BankDocument, BankStatement


def bank_statement_get(*, account: Account, statement_id: int) -> BankStatement:
    statement = BankStatement.objects.filter(account=account, pk=statement_id).first()
    if statement is None:  # another account's statement is as unknown as a missing one
        raise NotFound("bank_statement_not_found", _("Bank statement not found."))
    return statement


def bank_statement_documents(*, statement: BankStatement) -> list[BankDocument]:
    return list(BankDocument.objects.filter(account=statement.account, statement=statement)
                .select_related("suggested_deal", "suggested_invoice", "payment__deal").order_by("id"))


def bank_document_get(*, account: Account, document_id: int) -> BankDocument:
    document = (BankDocument.objects.filter(account=account, pk=document_id)
                .select_related("suggested_deal", "suggested_invoice", "payment__deal").first())
    if document is None:
        raise NotFound("bank_document_not_found", _("Bank document not found."))
    return document
