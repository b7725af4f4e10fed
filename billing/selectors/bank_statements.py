"""Reads for bank statement import: a statement with its documents and their match suggestions."""
from django.db.models import F, Q
from django.utils.translation import gettext as _

from billing.errors import NotFound
from billing.models import Account, BankDocument, BankStatement, Deal, Installment


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


def bank_document_candidates(*, document: BankDocument, query: str = "", limit: int = 20) -> list[dict]:
    """The pick-list for a document the matcher got wrong or could not match: live incoming deals of the same
    account with a debt, searched by client, INN, contract number or lead ID; those with an open instalment of
    exactly the document's amount first."""
    deals = (Deal.objects.filter(account=document.account, direction="incoming", cancelled_at__isnull=True,
                                 debt__gt=0, schedules__is_active=True))
    query = (query or "").strip()
    if query:
        found = (Q(name__icontains=query) | Q(contact_name__icontains=query) | Q(client_inn__icontains=query)
                 | Q(contract_number__icontains=query))
        if query.isdigit():
            found |= Q(external_id=int(query[:18]))
        deals = deals.filter(found)
    equal = set(Installment.objects.filter(schedule__deal__in=deals, schedule__is_active=True,
                                           amount=F("paid") + document.amount)
                .values_list("schedule__deal_id", flat=True))
    rows = list(deals.order_by("-id")[:500])
    rows.sort(key=lambda deal: (deal.pk not in equal, deal.client_inn != document.payer_inn or not deal.client_inn,
                                -deal.pk))
    return [{"external_id": deal.external_id, "name": deal.name or deal.contact_name,
             "contract_number": deal.contract_number, "client_inn": deal.client_inn, "debt": deal.debt,
             "amount_equal": deal.pk in equal}
            for deal in rows[:limit]]
