"""Bank statements (1C exchange files): upload once, match incoming credits, confirm them as bank-transfer payments."""
import hashlib
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.domain.account_settings import requisites_read
from billing.domain.bank_matching import EXACT, LineIndex, OpenLine, match_credit
from billing.domain.bank_statement import StatementError, parse_statement
from billing.errors import ApplicationError, Conflict, NotFound
from billing.models import Account, BankDocument, BankStatement, Deal, Installment, Invoice, Payment
from billing.services.corrections import payment_reverse
from billing.services.payments import PaymentInput, payment_record
from billing.texts import in_account_language

MAX_FILE_BYTES = 20 * 1024 * 1024

PARSE_ERRORS = {
    "not_1c": gettext_lazy("This is not a 1C bank statement: the first line must be «1CClientBankExchange»."),
    "bad_encoding": gettext_lazy("The file's encoding is not recognised (expected Windows-1251, DOS or UTF-8)."),
    "truncated": gettext_lazy("The file is cut short: there is no «КонецФайла»."),
    "unclosed_document": gettext_lazy("A document block is not closed by «КонецДокумента»."),
    "unclosed_balance": gettext_lazy("A balance block is not closed by «КонецРасчСчет»."),
    "unexpected_marker": gettext_lazy("A closing marker without its opening section."),
    "unknown_marker": gettext_lazy("An unknown line without «=»."),
    "stray_line": gettext_lazy("A line outside any section."),
    "after_end": gettext_lazy("Lines after «КонецФайла»."),
    "bad_date": gettext_lazy("A date is not in the form ДД.ММ.ГГГГ."),
    "bad_amount": gettext_lazy("An amount is not a number with a dot and up to two decimals."),
    "missing_key": gettext_lazy("A required field is missing."),
    "balance_mismatch": gettext_lazy("The balances do not add up: opening + credited − debited ≠ closing."),
    "foreign_account": gettext_lazy("The statement is for another company's account, not the one in the settings."),
}

MATCH_REASONS = {
    "invoice_number": gettext_lazy("invoice number in the purpose"),
    "contract_number": gettext_lazy("contract number in the purpose"),
    "inn_equal": gettext_lazy("payer INN is the client's"),
    "amount_equal": gettext_lazy("amount equals the instalment"),
    "amount_differs": gettext_lazy("amount differs: partial or overpayment"),
    "inn_many_deals": gettext_lazy("the payer INN belongs to several deals"),
    "no_match": gettext_lazy("nothing in the purpose, INN or amount points to a deal"),
    "external_id": gettext_lazy("the row names the lead ID"),
    "sheet_contract": gettext_lazy("the row names the contract number"),
    "partial_payment": gettext_lazy("part of the debt"),
    "overpayment": gettext_lazy("more than the debt: the excess is kept as credit"),
    "possible_duplicate": gettext_lazy("this deal already has a payment of this amount on this date"),
    "reversed": gettext_lazy("the payment was reversed: choose the right deal"),
}


def match_reason_text(codes: list[str]) -> str:
    return "; ".join(str(MATCH_REASONS.get(code, code)) for code in codes)


def _statement_refused(error: StatementError) -> ApplicationError:
    reason = str(PARSE_ERRORS.get(error.code, error.code))
    message = _("Line %(line)s: %(reason)s") % {"line": error.line, "reason": reason} if error.line else reason
    if error.detail:
        message = f"{message} ({error.detail[:200]})"
    return ApplicationError("bad_statement", message, {"file": [message]})


def our_bank_accounts(account: Account) -> frozenset[str]:
    requisites = requisites_read(account.settings or {})
    return frozenset({requisites.bank_account} - {""})


def open_lines(*, account: Account) -> list[OpenLine]:
    """Unpaid instalments of the account's live incoming deals, with the live invoice of each if any."""
    invoices = {inv.installment_id: inv for inv in Invoice.objects.filter(
        account=account, status__in=Invoice.LIVE_STATUSES).only("id", "installment_id", "number", "amount",
                                                                 "paid_amount")}
    lines = []
    rows = (Installment.objects.filter(schedule__deal__account=account, schedule__is_active=True,
                                       schedule__deal__cancelled_at__isnull=True,
                                       schedule__deal__direction="incoming", paid__lt=F("amount"))
            .select_related("schedule__deal").order_by("schedule__deal_id", "seq"))
    for installment in rows:
        deal = installment.schedule.deal
        invoice = invoices.get(installment.pk)
        lines.append(OpenLine(
            deal_id=deal.pk, installment_id=installment.pk, remaining=installment.amount - installment.paid,
            contract_number=deal.contract_number, client_inn=deal.client_inn,
            invoice_id=invoice.pk if invoice else None, invoice_number=invoice.number if invoice else "",
            invoice_remaining=(invoice.amount - invoice.paid_amount) if invoice else None))
    return lines


@transaction.atomic
def bank_statement_upload(*, account: Account, data: bytes, file_name: str, uploaded_by: int | None
                          ) -> BankStatement:
    """Parse the whole file first (any error refuses it, nothing recorded), then record each incoming credit
    once per account: re-uploading the same or an overlapping statement adds nothing twice."""
    if len(data) > MAX_FILE_BYTES:
        raise ApplicationError("file_too_large", _("The file is larger than 20 MB."))
    ours = our_bank_accounts(account)
    if not ours:
        raise ApplicationError("no_bank_account", _(
            "Fill in the company's bank account in the settings first: statements are checked against it."))
    try:
        parsed = parse_statement(data, our_accounts=ours)
    except StatementError as error:
        raise _statement_refused(error) from None
    file_hash = hashlib.sha256(data).hexdigest()
    # Two uploads of one account wait for each other (NO KEY: payments referencing the account go on), so the
    # same file twice is found, never a unique-constraint 500.
    Account.objects.select_for_update(no_key=True).filter(pk=account.pk).first()
    existing = BankStatement.objects.filter(account=account, file_hash=file_hash).first()
    if existing is not None:
        return existing
    incoming = parsed.incoming(ours)
    statement = BankStatement.objects.create(
        account=account, file_hash=file_hash, file_name=file_name[:255],
        bank_account=sorted(set(parsed.accounts) & ours)[0], encoding=parsed.encoding,
        date_from=parsed.date_from, date_to=parsed.date_to, documents_total=len(incoming),
        warnings=list(parsed.warnings), uploaded_by=uploaded_by)
    lines = LineIndex(open_lines(account=account))
    rows = []
    for doc in incoming:
        match = match_credit(purpose=doc.purpose, payer_inn=doc.payer_inn, amount=doc.amount, lines=lines)
        rows.append(BankDocument(
            account=account, statement=statement, bank_account=doc.payee_account, number=doc.number[:64],
            doc_date=doc.doc_date, credit_date=doc.credit_date, amount=doc.amount,
            payer_account=doc.payer_account[:34], payer_inn=doc.payer_inn, payer_name=doc.payer_name[:255],
            purpose=doc.purpose, kind=doc.kind[:64], raw=doc.raw, suggested_deal_id=match.deal_id,
            suggested_installment_id=match.installment_id, suggested_invoice_id=match.invoice_id,
            confidence=match.confidence, match_reasons=list(match.reasons)))
    if any(row.amount <= Decimal(0) for row in rows):
        raise ApplicationError("bad_statement", _("A credit with a zero or negative amount."))
    BankDocument.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    statement.documents_new = BankDocument.objects.filter(statement=statement).count()
    statement.save(update_fields=["documents_new"])
    return statement


def _document_locked(document: BankDocument) -> BankDocument:
    return BankDocument.objects.select_for_update().get(pk=document.pk, account=document.account)


def _payment_comment(document: BankDocument) -> str:
    with in_account_language(document.account):
        if document.row is not None:  # a payment sheet's row: the file and row are the audit trail
            text = _("Import «%(file)s», row %(row)s") % {"file": document.statement.file_name, "row": document.row}
            return f"{text}: {document.purpose}" if document.purpose else text
        return _("Bank statement: document № %(number)s of %(date)s, %(payer)s") % {
            "number": document.number, "date": document.doc_date.strftime("%d.%m.%Y"),
            "payer": document.payer_name or document.payer_inn}


@transaction.atomic
def bank_document_confirm(*, document: BankDocument, confirmed_by: int | None, deal: Deal | None = None,
                          installment: Installment | None = None) -> Payment:
    """Record the credit as a bank-transfer payment of the chosen (or suggested) deal of the same account."""
    document = _document_locked(document)
    if document.status != BankDocument.Status.NEW:
        raise Conflict("bank_document_decided", _("This bank document has already been confirmed or skipped."))
    if installment is not None:
        deal = installment.schedule.deal
    if deal is None:
        deal = document.suggested_deal
    if deal is None or deal.account_id != document.account_id:
        raise NotFound("deal_not_found", _("Deal not found."))
    invoice_id = document.suggested_invoice_id if deal.pk == document.suggested_deal_id else None
    payment = payment_record(deal=deal, amount=document.amount, allow_credit=True, payment=PaymentInput(
        method=document.method or Payment.Method.BANK_TRANSFER, paid_at=document.credit_date,
        recorded_by=confirmed_by, comment=_payment_comment(document), invoice_id=invoice_id))
    if document.payer_inn:
        # The next statement finds this client by INN: a confirmed payment is the manager's word for it.
        Deal.objects.filter(pk=deal.pk, client_inn="").update(client_inn=document.payer_inn)
    document.payment = payment
    document.status = BankDocument.Status.CONFIRMED
    document.decided_by, document.decided_at = confirmed_by, timezone.now()
    document.save(update_fields=["payment", "status", "decided_by", "decided_at"])
    return payment


@transaction.atomic
def bank_document_skip(*, document: BankDocument, decided_by: int | None) -> BankDocument:
    document = _document_locked(document)
    if document.status != BankDocument.Status.NEW:
        raise Conflict("bank_document_decided", _("This bank document has already been confirmed or skipped."))
    document.status = BankDocument.Status.SKIPPED
    document.decided_by, document.decided_at = decided_by, timezone.now()
    document.save(update_fields=["status", "decided_by", "decided_at"])
    return document


@transaction.atomic
def bank_document_unconfirm(*, document: BankDocument, reason: str, decided_by: int | None) -> Payment:
    """A wrong match: storno the payment it made; the document is open again for the right deal."""
    document = _document_locked(document)
    if document.status != BankDocument.Status.CONFIRMED or document.payment is None:
        raise Conflict("bank_document_not_confirmed", _("This bank document is not confirmed."))
    storno = payment_reverse(payment=document.payment, reason=reason, reversed_by=decided_by)
    document.history = [*document.history, {"payment_id": document.payment_id, "storno_id": storno.pk,
                                             "reason": storno.correction_reason, "by": decided_by,
                                             "at": timezone.now().isoformat()}]
    document.payment = None
    document.status = BankDocument.Status.NEW
    document.decided_by, document.decided_at = decided_by, timezone.now()
    # The suggestion was wrong (or the payment was): it is not offered again, the deal is chosen by hand.
    document.suggested_deal = document.suggested_installment = document.suggested_invoice = None
    document.confidence = 0
    document.match_reasons = ["reversed"]
    document.save(update_fields=["payment", "history", "status", "decided_by", "decided_at", "suggested_deal",
                                 "suggested_installment", "suggested_invoice", "confidence", "match_reasons"])
    return storno


def bank_statement_confirm_exact(*, statement: BankStatement, confirmed_by: int | None
                                 ) -> tuple[list[BankDocument], list[tuple[BankDocument, str]]]:
    """Confirm every open exact match of the statement (each sheet row naming its deal), one transaction per
    document so one refused row (a deal cancelled meanwhile) neither blocks nor undoes the others. Confirming
    again finds nothing left to confirm: nothing is recorded twice."""
    confirmed, failed = [], []
    documents = BankDocument.objects.filter(account=statement.account, statement=statement,
                                            status=BankDocument.Status.NEW, confidence__gte=EXACT,
                                            suggested_deal__isnull=False).select_related("statement").order_by("id")
    for document in documents:
        try:
            bank_document_confirm(document=document, confirmed_by=confirmed_by)
        except ApplicationError as error:  # Conflict: a twin request confirmed it first; the rest: the deal
            failed.append((document, error.message))
        else:
            confirmed.append(document)
    return confirmed, failed
