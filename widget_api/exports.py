"""Excel export of analytics rows: words instead of codes, manager names, a totals row, and text that a
spreadsheet can never run as a formula (the cell is typed as text; no apostrophe is added to the value)."""
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO
from typing import BinaryIO

from django.utils import translation
from django.utils.translation import pgettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from billing.domain.money import ZERO
from billing.selectors.analytics import AnalyticsRow, CounterpartyReport

MONEY_FORMAT = "#,##0.00"
MONEY_COLUMNS = ("amount", "paid", "remaining")
WIDE_COLUMNS = ("deal_name", "client", "group", "education_direction", "manager")


@dataclass(frozen=True)
class ExportTexts:
    """Every word of the workbook in one language."""

    columns: dict[str, str]
    sheets: dict[str, str]
    directions: dict[str, str]
    methods: dict[str, str]
    statuses: dict[str, str]
    total: str
    manager: str  # "Менеджер #%(id)s" when the CRM's user list does not name the manager


# Every word of the workbook, from the gettext catalogue (English source, Russian in locale/ru).
WORDS = {
    "columns": {
        "lead_id": pgettext_lazy("export column", "Deal #"),
        "deal_name": pgettext_lazy("export column", "Name"),
        "client": pgettext_lazy("export column", "Client"),
        "group": pgettext_lazy("export column", "Group"),
        "education_direction": pgettext_lazy("export column", "Education direction"),
        "direction": pgettext_lazy("export column", "Money flow"),
        "date": pgettext_lazy("export column", "Date"),
        "status": pgettext_lazy("export column", "Status"),
        "amount": pgettext_lazy("export column", "Amount"),
        "paid": pgettext_lazy("export column", "Paid"),
        "remaining": pgettext_lazy("export column", "Remaining"),
        "days_overdue": pgettext_lazy("export column", "Days overdue"),
        "manager": pgettext_lazy("export column", "Manager"),
        "method": pgettext_lazy("export column", "Payment method"),
    },
    "sheets": {
        "received": pgettext_lazy("export sheet", "Received"),
        "upcoming": pgettext_lazy("export sheet", "Upcoming"),
        "overdue": pgettext_lazy("export sheet", "Overdue"),
    },
    "directions": {
        "incoming": pgettext_lazy("money flow", "Client pays us"),
        "outgoing": pgettext_lazy("money flow", "We pay the client"),
    },
    "methods": {
        "cloudpayments": pgettext_lazy("payment method", "Card (CloudPayments)"),
        "cash": pgettext_lazy("payment method", "Cash"),
        "bank_transfer": pgettext_lazy("payment method", "Bank transfer"),
        "card_terminal": pgettext_lazy("payment method", "Card (terminal)"),
        "card_token": pgettext_lazy("payment method", "Autopay (saved card)"),
        "opening_balance": pgettext_lazy("payment method", "Received before the plan"),
        "other": pgettext_lazy("payment method", "Other"),
    },
    "statuses": {
        "received": pgettext_lazy("export status", "Received"),
        "upcoming": pgettext_lazy("export status", "Expected"),
        "upcoming_partly": pgettext_lazy("export status", "Partly paid"),
        "overdue": pgettext_lazy("export status", "Overdue"),
        "overdue_partly": pgettext_lazy("export status", "Overdue, partly paid"),
    },
}
TOTAL = pgettext_lazy("export", "Total")
MANAGER = pgettext_lazy("export", "Manager #%(id)s")
COLUMNS = ("lead_id", "deal_name", "client", "group", "education_direction", "direction", "date", "status",
           "amount", "paid", "remaining", "days_overdue", "manager", "method")


def export_texts(language: str) -> ExportTexts:
    with translation.override("ru" if language.lower().startswith("ru") else "en"):
        words = {group: {key: str(text) for key, text in texts.items()} for group, texts in WORDS.items()}
        return ExportTexts(**words, total=str(TOTAL), manager=str(MANAGER))


def _status(row: AnalyticsRow, texts: ExportTexts) -> str:
    if row.kind == "received":
        return texts.statuses["received"]
    partly = "_partly" if row.paid > ZERO else ""
    return texts.statuses[row.kind + partly]


def _values(row: AnalyticsRow, texts: ExportTexts, manager_name: Callable[[int | None], str]) -> dict:
    return {
        "lead_id": row.external_id, "deal_name": row.deal_name, "client": row.client, "group": row.group,
        "education_direction": row.education_direction,
        "direction": texts.directions.get(row.direction, row.direction), "date": row.date,
        "status": _status(row, texts), "amount": row.amount, "paid": row.paid, "remaining": row.remaining,
        "days_overdue": row.days_overdue, "manager": manager_name(row.manager_id),
        "method": texts.methods.get(row.method, row.method) if row.method else "",
    }


def _put(sheet, row_index: int, column_index: int, value):
    """Every text cell is typed as text: "=HYPERLINK(...)" stays those characters, never a formula."""
    cell = sheet.cell(row=row_index, column=column_index, value=value)
    if isinstance(value, str):
        cell.data_type = TYPE_STRING
    return cell


def rows_workbook(sheets: dict[str, Iterable[AnalyticsRow]], *, language: str = "ru",
                  manager_names: dict[int, str] | None = None) -> bytes:
    """The workbook of `rows_workbook_write` as bytes (small exports and tests)."""
    buffer = BytesIO()
    rows_workbook_write(sheets, buffer, language=language, manager_names=manager_names)
    return buffer.getvalue()


def rows_workbook_write(sheets: dict[str, Iterable[AnalyticsRow]], target: BinaryIO, *, language: str = "ru",
                        manager_names: dict[int, str] | None = None) -> None:
    """One sheet per kind of rows: header (frozen, with an autofilter), the rows, then a totals row. Written
    row by row (openpyxl's write-only mode) from iterables: memory stays flat however many rows there are."""
    texts = export_texts(language)
    names = manager_names or {}

    def manager_name(manager_id: int | None) -> str:
        if not manager_id:
            return ""
        return names.get(manager_id) or texts.manager % {"id": manager_id}

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for kind, rows in sheets.items():
        sheet = book.create_sheet(texts.sheets.get(kind, kind))
        for index, name in enumerate(COLUMNS, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = 28 if name in WIDE_COLUMNS else 14
        sheet.freeze_panes = "A2"
        sheet.append([_cell(sheet, texts.columns[name], font=bold) for name in COLUMNS])
        totals = dict.fromkeys(MONEY_COLUMNS, Decimal("0.00"))
        count = 0
        for row in rows:
            count += 1
            values = _values(row, texts, manager_name)
            cells = []
            for name in COLUMNS:
                value = values[name]
                if name in MONEY_COLUMNS:
                    totals[name] += value
                    cells.append(_cell(sheet, value, number_format=MONEY_FORMAT))
                elif name == "date":
                    cells.append(_cell(sheet, value, number_format="DD.MM.YYYY"))
                elif isinstance(value, str) and value.startswith("="):
                    cells.append(_cell(sheet, value))  # typed as text: never a formula
                else:
                    cells.append(value)  # a plain value: openpyxl types it (text as text)
            sheet.append(cells)
        total_row = [_cell(sheet, texts.total, font=bold)] + [None] * (len(COLUMNS) - 1)
        for name in MONEY_COLUMNS:
            total_row[COLUMNS.index(name)] = _cell(sheet, totals[name], number_format=MONEY_FORMAT, font=bold)
        sheet.append(total_row)
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{count + 1}"
    book.save(target)


def _cell(sheet, value, *, number_format: str | None = None, font: Font | None = None) -> WriteOnlyCell:
    """A write-only cell; text is typed as text ("=HYPERLINK(...)" stays those characters, never a formula)."""
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = TYPE_STRING
    if number_format:
        cell.number_format = number_format
    if font:
        cell.font = font
    return cell


# Export columns keep the widget's names; billing's rows call the lead id the deal's external id.
ROW_ATTRIBUTES = {"lead_id": "external_id"}
COUNTERPARTY_COLUMNS = ("counterparty", "contract", "lead_id", "deals_count", "total", "paid", "payments_count",
                        "remaining", "next_due_date")
COUNTERPARTY_MONEY = ("total", "paid", "remaining")
COUNTERPARTY_TEXTS = {
    "ru": {"sheets": {"counterparty": "По контрагентам", "contract": "По договорам"},
           "columns": {"counterparty": "Контрагент", "contract": "Договор", "lead_id": "Сделка №",
                       "deals_count": "Сделок", "total": "Сумма по графикам", "paid": "Оплачено за период",
                       "payments_count": "Платежей за период", "remaining": "Остаток долга",
                       "next_due_date": "Ближайший платёж"}},
    "en": {"sheets": {"counterparty": "By counterparty", "contract": "By contract"},
           "columns": {"counterparty": "Counterparty", "contract": "Contract", "lead_id": "Deal #",
                       "deals_count": "Deals", "total": "Plans total", "paid": "Paid in the period",
                       "payments_count": "Payments in the period", "remaining": "Remaining principal",
                       "next_due_date": "Next payment"}},
}


def counterparties_sheet(report: CounterpartyReport, *, language: str = "ru") -> bytes:
    """The counterparty report as one sheet: header, a row per counterparty or contract, the totals row."""
    texts = COUNTERPARTY_TEXTS["ru" if language.lower().startswith("ru") else "en"]
    total_word = export_texts(language).total
    columns = [name for name in COUNTERPARTY_COLUMNS
               if report.group_by == "contract" or name not in ("contract", "lead_id")]
    book = Workbook()
    sheet = book.active
    sheet.title = texts["sheets"][report.group_by]
    for index, name in enumerate(columns, start=1):
        _put(sheet, 1, index, texts["columns"][name]).font = Font(bold=True)
    for row_index, row in enumerate([*report.rows, report.totals], start=2):
        is_total = row is report.totals
        for index, name in enumerate(columns, start=1):
            value = getattr(row, ROW_ATTRIBUTES.get(name, name))
            if is_total and name == "counterparty":
                value = total_word
            cell = _put(sheet, row_index, index, value)
            if name in COUNTERPARTY_MONEY:
                cell.number_format = MONEY_FORMAT
            elif name == "next_due_date":
                cell.number_format = "DD.MM.YYYY"
            if is_total:
                cell.font = Font(bold=True)
    for index, name in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = 32 if name in ("counterparty", "contract") else 16
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(report.rows) + 1}"
    sheet.freeze_panes = "A2"
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()
