"""Payments from an Excel/CSV sheet: the second parser of the statement import pipeline.

A sheet becomes a `BankStatement` (source xlsx/csv) whose valid rows are `BankDocument`s pointing at the deal
the row names (lead ID or contract number); confirming, skipping and the storno are the statement's own
(`billing.services.bank_statements`). Rows with errors are left out and kept on the statement to be listed.
"""
import hashlib
import json
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.domain.bank_matching import contract_key
from billing.domain.payment_sheet import (
    COLUMNS,
    ParsedSheet,
    RowError,
    SheetError,
    SheetRow,
    parse_sheet,
    template_csv,
    template_xlsx,
)
from billing.errors import ApplicationError
from billing.models import Account, BankDocument, BankStatement, Deal, Payment, Schedule
from billing.services.bank_statements import MAX_FILE_BYTES, open_lines
from billing.time import account_today

COLUMN_TITLES = {
    "external_id": gettext_lazy("Lead ID"),
    "contract_number": gettext_lazy("Contract number"),
    "amount": gettext_lazy("Amount"),
    "paid_at": gettext_lazy("Payment date"),
    "method": gettext_lazy("Payment method"),
    "comment": gettext_lazy("Comment"),
}
COLUMN_NOTES = {
    "external_id": gettext_lazy("The CRM deal ID; or leave it empty and fill in the contract number."),
    "contract_number": gettext_lazy("The deal's contract number, e.g. 18/2026; used when there is no lead ID."),
    "amount": gettext_lazy("In rubles: 25000 or 25 000,00."),
    "paid_at": gettext_lazy("DD.MM.YYYY, not in the future."),
    "method": gettext_lazy("Bank transfer (if empty), cash, card terminal or other."),
    "comment": gettext_lazy("Optional: stays with the payment."),
}
METHOD_TITLES = {
    "bank_transfer": gettext_lazy("Bank transfer"),
    "cash": gettext_lazy("Cash"),
    "card_terminal": gettext_lazy("Card terminal"),
    "other": gettext_lazy("Other"),
}

SHEET_ERRORS = {
    "empty": gettext_lazy("The file is empty."),
    "old_xls": gettext_lazy("This is an old Excel 97–2003 file (.xls): save it as .xlsx or CSV and upload again."),
    "bad_xlsx": gettext_lazy("The Excel file cannot be read: it is damaged or not an .xlsx workbook."),
    "not_spreadsheet": gettext_lazy("This is not an Excel (.xlsx) or CSV file."),
    "bad_encoding": gettext_lazy("The CSV file's encoding is not recognised (expected UTF-8 or Windows-1251)."),
    "bad_csv": gettext_lazy("The CSV file cannot be read."),
    "is_1c_statement": gettext_lazy("This is a 1C bank statement: upload it as a statement, not as a payment sheet."),
    "formula": gettext_lazy("The cell holds a formula: copy the sheet and paste it as values, then upload again."),
    "merged_cells": gettext_lazy("The sheet has merged cells: unmerge them, one payment a row."),
    "too_many_rows": gettext_lazy("More than 10 000 payments in one file: split it."),
    "no_header": gettext_lazy("No header row: the first rows must name the columns as in the template."),
    "missing_column": gettext_lazy("A required column is missing."),
    "no_rows": gettext_lazy("No payments under the header."),
}
ROW_ERRORS = {
    "missing": gettext_lazy("empty"),
    "bad_amount": gettext_lazy("not an amount (expected e.g. 25000 or 25 000,00)"),
    "amount_not_positive": gettext_lazy("the amount must be greater than zero"),
    "amount_too_precise": gettext_lazy("more than two decimals (kopecks)"),
    "amount_too_large": gettext_lazy("the amount is too large"),
    "bad_date": gettext_lazy("not a date (expected DD.MM.YYYY)"),
    "date_in_future": gettext_lazy("the date is in the future"),
    "bad_method": gettext_lazy("unknown payment method (bank transfer, cash, card terminal or other)"),
    "bad_external_id": gettext_lazy("not a lead ID (digits only)"),
    "no_deal": gettext_lazy("neither a lead ID nor a contract number"),
    "deal_not_found": gettext_lazy("no such deal in this account"),
    "contract_not_found": gettext_lazy("no deal with this contract number"),
    "contract_ambiguous": gettext_lazy("several deals have this contract number: give the lead ID"),
    "deal_mismatch": gettext_lazy("the lead ID and the contract number name different deals"),
    "deal_cancelled": gettext_lazy("the deal is cancelled"),
    "deal_outgoing": gettext_lazy("the deal is a payout plan, not a client's payments"),
    "no_plan": gettext_lazy("the deal has no payment plan yet"),
}
SHEET_REASONS = ("external_id", "sheet_contract", "partial_payment", "overpayment", "possible_duplicate")
CLEAN = 100
DOUBTFUL = 60  # confirmable one by one, never by «confirm all»


def column_title(column: str) -> str:
    return str(COLUMN_TITLES.get(column, column))


def row_error_text(error: dict) -> str:
    """«Row 7, column «Amount»: not an amount (…): "abc"» from a stored row error."""
    reason = str(ROW_ERRORS.get(error.get("code", ""), error.get("code", "")))
    if error.get("column"):
        text = _("Row %(row)s, column «%(column)s»: %(reason)s") % {
            "row": error.get("row"), "column": column_title(error["column"]), "reason": reason}
    else:
        text = _("Row %(row)s: %(reason)s") % {"row": error.get("row"), "reason": reason}
    value = error.get("value") or ""
    return f"{text} («{value}»)" if value and error.get("code") != "missing" else text


def _sheet_refused(error: SheetError) -> ApplicationError:
    reason = str(SHEET_ERRORS.get(error.code, error.code))
    if error.row and error.column:
        message = _("Row %(row)s, column «%(column)s»: %(reason)s") % {
            "row": error.row, "column": column_title(error.column), "reason": reason}
    elif error.row:
        message = _("Row %(row)s: %(reason)s") % {"row": error.row, "reason": reason}
    else:
        message = reason
    if error.detail and error.code in ("formula", "merged_cells"):
        message = f"{message} ({error.detail})"
    return ApplicationError("bad_sheet", message, {"file": [message]})


def payment_sheet_template(*, kind: str) -> tuple[bytes, str]:
    """The template in the current language: the header row and one example row (xlsx or csv)."""
    headers = [column_title(column) for column in COLUMNS]
    example_date = timezone.localdate().replace(day=1)
    if kind == "csv":
        example = ["31337", "", "25000,00", example_date.strftime("%d.%m.%Y"), str(METHOD_TITLES["bank_transfer"]),
                   _("Instalment 2 of 6")]
        return template_csv(headers, example), "payplan-payments.csv"
    example = [31337, "", Decimal("25000.00"), example_date, str(METHOD_TITLES["bank_transfer"]),
               _("Instalment 2 of 6")]
    notes = [str(COLUMN_NOTES[column]) for column in COLUMNS]
    return template_xlsx(headers, example, notes, str(_("Payments"))), "payplan-payments.xlsx"


def _deal_targets(account: Account, rows: list[SheetRow]) -> tuple[dict[int, Deal], dict[str, list[Deal]]]:
    by_lead = {deal.external_id: deal for deal in Deal.objects.filter(
        account=account, external_id__in={row.external_id for row in rows if row.external_id})}
    keys = {contract_key(row.contract_number) for row in rows if row.contract_number}
    by_contract: dict[str, list[Deal]] = {}
    if keys:
        for deal in Deal.objects.filter(account=account).exclude(contract_number="").order_by("id"):
            key = contract_key(deal.contract_number)
            if key in keys:
                by_contract.setdefault(key, []).append(deal)
    return by_lead, by_contract


def _deal_of(row: SheetRow, by_lead: dict[int, Deal], by_contract: dict[str, list[Deal]],
             planned: set[int]) -> tuple[Deal | None, str, str]:
    """The row's deal, and the error code with its column when there is none that can take the payment."""
    deal = None
    if row.external_id is not None:
        deal = by_lead.get(row.external_id)
        if deal is None:
            return None, "external_id", "deal_not_found"
    if row.contract_number:
        named = by_contract.get(contract_key(row.contract_number), [])
        if deal is not None:
            if named and deal not in named:
                return None, "contract_number", "deal_mismatch"
        elif not named:
            return None, "contract_number", "contract_not_found"
        elif len(named) > 1:
            return None, "contract_number", "contract_ambiguous"
        else:
            deal = named[0]
    column = "external_id" if row.external_id is not None else "contract_number"
    if deal.cancelled_at is not None:
        return None, column, "deal_cancelled"
    if deal.direction != "incoming":
        return None, column, "deal_outgoing"
    if deal.pk not in planned:
        return None, column, "no_plan"
    return deal, "", ""


def _paid_before(account: Account, deals: list[Deal]) -> set[tuple[int, date, Decimal]]:
    """(deal, date, amount) of the payments standing on these deals: a row repeating one is a likely double."""
    return set(Payment.objects.filter(account=account, deal__in=deals, amount__gt=0, reversal__isnull=True)
               .values_list("deal_id", "paid_at", "amount"))


def _content_hash(sheet: ParsedSheet) -> str:
    """The same payments are the same sheet, whatever bytes carry them (Excel re-saves, CSV vs xlsx)."""
    canonical = json.dumps(["payplan-sheet-v1", sheet.canonical()], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@transaction.atomic
def payment_sheet_upload(*, account: Account, data: bytes, file_name: str, uploaded_by: int | None
                         ) -> BankStatement:
    """Parse the whole sheet (a problem of the file refuses it, nothing recorded), find each row's deal and keep
    the valid rows to confirm; uploading the same payments again returns the first upload, recording nothing."""
    if len(data) > MAX_FILE_BYTES:
        raise ApplicationError("file_too_large", _("The file is larger than 20 MB."))
    try:
        sheet = parse_sheet(data, today=account_today(account))
    except SheetError as error:
        raise _sheet_refused(error) from None
    file_hash = _content_hash(sheet)
    Account.objects.select_for_update(no_key=True).filter(pk=account.pk).first()  # one upload at a time
    existing = BankStatement.objects.filter(account=account, file_hash=file_hash).first()
    if existing is not None:
        return existing
    by_lead, by_contract = _deal_targets(account, sheet.rows)
    candidates = list(by_lead.values()) + [deal for deals in by_contract.values() for deal in deals]
    planned = set(Schedule.objects.filter(deal__in=candidates, is_active=True).values_list("deal_id", flat=True))
    errors: list[RowError] = list(sheet.errors)
    matched: list[tuple[SheetRow, Deal]] = []
    for row in sheet.rows:
        deal, column, code = _deal_of(row, by_lead, by_contract, planned)
        if deal is None:
            errors.append(RowError(row.row, column, code, row.raw.get(column, "")[:100]))
        else:
            matched.append((row, deal))
    statement = BankStatement.objects.create(
        account=account, file_hash=file_hash, file_name=file_name[:255], bank_account="", encoding=sheet.encoding,
        source=sheet.kind, date_from=min((row.paid_at for row, _deal in matched), default=None),
        date_to=max((row.paid_at for row, _deal in matched), default=None), documents_total=len(matched),
        row_errors=[{"row": e.row, "column": e.column, "code": e.code, "value": e.value}
                    for e in sorted(errors, key=lambda e: (e.row, COLUMNS.index(e.column) if e.column else -1))],
        uploaded_by=uploaded_by)
    first_line = {}
    for line in open_lines(account=account):
        first_line.setdefault(line.deal_id, line)
    seen = _paid_before(account, [deal for _row, deal in matched])
    documents = []
    for row, deal in matched:
        line = first_line.get(deal.pk)
        reasons = ["external_id" if row.external_id is not None else "sheet_contract"]
        confidence = CLEAN
        if line is not None and row.amount == line.remaining:
            reasons.append("amount_equal")
        elif row.amount > deal.debt:
            reasons.append("overpayment")
            confidence = DOUBTFUL
        else:
            reasons.append("partial_payment")
        key = (deal.pk, row.paid_at, row.amount)
        if key in seen:
            reasons.append("possible_duplicate")
            confidence = DOUBTFUL
        seen.add(key)
        documents.append(BankDocument(
            account=account, statement=statement, bank_account="", number=str(row.row), doc_date=row.paid_at,
            credit_date=row.paid_at, amount=row.amount, purpose=row.comment, kind=sheet.kind, raw=row.raw,
            row=row.row, method=row.method, suggested_deal=deal,
            suggested_installment_id=line.installment_id if line else None,
            suggested_invoice_id=line.invoice_id if line else None, confidence=confidence, match_reasons=reasons))
    BankDocument.objects.bulk_create(documents, batch_size=1000)
    statement.documents_new = len(documents)
    statement.save(update_fields=["documents_new"])
    return statement
