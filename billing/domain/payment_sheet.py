"""Payments from a spreadsheet (Excel .xlsx or CSV): a header row, then one payment a row. Pure Python.

The whole file is read first. Problems of the file itself (not a spreadsheet, formulas, merged cells, a
required column missing, too many rows) refuse it: `SheetError` names the row and column. Problems of one
row (an amount that is not a number, a date in the future…) leave that row out: `RowError` names it.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

COLUMNS = ("external_id", "contract_number", "amount", "paid_at", "method", "comment")
REQUIRED = ("amount", "paid_at")
METHOD_CODES = ("bank_transfer", "cash", "card_terminal", "other")
DEFAULT_METHOD = "bank_transfer"
MAX_ROWS = 10_000
MAX_AMOUNT = Decimal("9999999999.99")
HEADER_SEARCH_ROWS = 10

# Header cells as people write them (letters and digits only, lower case, ё→е); a longer header starting
# with one of these (e.g. «Сумма, ₽», «Дата оплаты (ДД.ММ.ГГГГ)») reads the same.
HEADER_ALIASES = {
    "external_id": ("idсделки", "idлида", "номерсделки", "сделка", "сделки", "leadid", "lead", "dealid", "deal"),
    "contract_number": ("номердоговора", "договор", "договора", "contractnumber", "contract", "contractno"),
    "amount": ("суммаоплаты", "суммаплатежа", "сумма", "amount", "sum"),
    "paid_at": ("датаоплаты", "датаплатежа", "дата", "paymentdate", "paidat", "paid", "date"),
    "method": ("способоплаты", "способ", "методоплаты", "paymentmethod", "method"),
    "comment": ("комментарий", "примечание", "назначение", "comment", "note"),
}
METHOD_ALIASES = {
    "banktransfer": "bank_transfer", "bank": "bank_transfer", "transfer": "bank_transfer",
    "банковскийперевод": "bank_transfer", "перевод": "bank_transfer", "безнал": "bank_transfer",
    "безналичные": "bank_transfer", "безналичный": "bank_transfer", "банк": "bank_transfer",
    "поступлениенасчет": "bank_transfer", "cash": "cash", "наличные": "cash", "наличными": "cash", "нал": "cash",
    "cardterminal": "card_terminal", "terminal": "card_terminal", "терминал": "card_terminal",
    "картачерезтерминал": "card_terminal", "картавтерминале": "card_terminal", "карта": "card_terminal",
    "other": "other", "другое": "other", "прочее": "other", "иное": "other",
}


class SheetError(Exception):
    """The file cannot be read as a payment sheet; nothing of it is imported."""

    def __init__(self, code: str, *, row: int | None = None, column: str = "", detail: str = "") -> None:
        super().__init__(code, row, column, detail)
        self.code, self.row, self.column, self.detail = code, row, column, detail


@dataclass(frozen=True)
class RowError:
    row: int
    column: str  # one of COLUMNS, or "" for the row as a whole
    code: str
    value: str = ""


@dataclass(frozen=True)
class SheetRow:
    row: int  # as the spreadsheet numbers it (1 = the first line of the file)
    amount: Decimal
    paid_at: date
    method: str
    external_id: int | None = None
    contract_number: str = ""
    comment: str = ""
    raw: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedSheet:
    kind: str  # "xlsx" | "csv"
    encoding: str
    columns: dict[str, int]  # our column → its 0-based position
    rows: list[SheetRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def canonical(self) -> list:
        """What the file says, whatever its bytes: the same payments re-saved by Excel read the same."""
        return ([[r.row, r.external_id, r.contract_number, str(r.amount), r.paid_at.isoformat(), r.method, r.comment]
                 for r in self.rows] + [[e.row, e.column, e.code, e.value] for e in self.errors])


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-zа-я]", "", str(text).lower().replace("ё", "е"))


def _column_of(header: str) -> str | None:
    key = _key(header)
    if not key:
        return None
    for column, aliases in HEADER_ALIASES.items():
        if key in aliases:
            return column
    for column, aliases in HEADER_ALIASES.items():
        if any(key.startswith(alias) for alias in aliases if len(alias) >= 4):
            return column
    return None


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y") if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return str(value).strip()


_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")
_CURRENCY = re.compile(r"(₽|руб\.?|р\.|rub|rur)$", re.IGNORECASE)


def parse_amount(value) -> Decimal:
    """160000, 160000.5, «160 000,00», «160 000,00 ₽», «1,234.56» → Decimal; ValueError with a code otherwise."""
    if isinstance(value, bool):
        raise ValueError("bad_amount")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    elif isinstance(value, Decimal):
        amount = value
    else:
        text = _CURRENCY.sub("", _SPACES.sub("", str(value or "")).lower()).strip()
        if not text:
            raise ValueError("missing")
        if "," in text and "." in text:  # the last one is the decimal mark, the other groups thousands
            dot_last = text.rfind(".") > text.rfind(",")
            text = text.replace(",", "") if dot_last else text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", ".")
        if not re.fullmatch(r"[+-]?\d+(\.\d*)?", text):
            raise ValueError("bad_amount")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError("bad_amount") from None
    if not amount.is_finite():
        raise ValueError("bad_amount")
    if amount <= 0:
        raise ValueError("amount_not_positive")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("amount_too_precise")
    if amount > MAX_AMOUNT:
        raise ValueError("amount_too_large")
    return amount.quantize(Decimal("0.01"))


_DATE_FORMATS = ("%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
                 "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


_PLAIN_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


def parse_date(value) -> date:
    """A date cell, «05.12.2026», «5.12.26», «2026-12-05» → date; ValueError("bad_date") otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip().rstrip("г. ").strip()
    if not text:
        raise ValueError("missing")
    plain = _PLAIN_DATE.fullmatch(text)  # the common «05.12.2026» without strptime's cost
    if plain:
        try:
            return date(int(plain[3]), int(plain[2]), int(plain[1]))
        except ValueError:
            raise ValueError("bad_date") from None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar day, no time zone
        except ValueError:
            continue
    raise ValueError("bad_date")


def parse_method(value) -> str:
    key = _key(_text(value))
    if not key:
        return DEFAULT_METHOD
    method = METHOD_ALIASES.get(key)
    if method is None:
        raise ValueError("bad_method")
    return method


def parse_external_id(value) -> int | None:
    text = _text(value).lstrip("#№").strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{1,18}", text) or int(text) == 0:
        raise ValueError("bad_external_id")
    return int(text)


def _table_rows_xlsx(data: bytes) -> list[tuple[int, list]]:
    from openpyxl import load_workbook  # only here: CSV imports and the rest of the domain do without it

    try:
        book = load_workbook(io.BytesIO(data), data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, TypeError) as exc:
        raise SheetError("bad_xlsx", detail=type(exc).__name__) from None
    except Exception as exc:  # openpyxl raises its own kinds for a damaged workbook
        raise SheetError("bad_xlsx", detail=type(exc).__name__) from None
    if not book.worksheets:
        raise SheetError("empty")
    sheet = book.worksheets[0]
    merged = sorted(sheet.merged_cells.ranges, key=lambda r: (r.min_row, r.min_col))
    if merged:
        first = merged[0]
        raise SheetError("merged_cells", row=first.min_row, detail=str(first.coord))
    if sheet.max_row > MAX_ROWS + HEADER_SEARCH_ROWS + 1:
        raise SheetError("too_many_rows", row=sheet.max_row)
    rows = []
    for cells in sheet.iter_rows():
        values = []
        for cell in cells:
            if cell.data_type == "f":
                raise SheetError("formula", row=cell.row, detail=cell.coordinate)
            values.append(cell.value)
        if cells:
            rows.append((cells[0].row, values))
    return rows


def _decode_csv(data: bytes) -> tuple[str, str]:
    if b"\x00" in data[:4096]:
        raise SheetError("not_spreadsheet")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251"), "cp1251"
    except UnicodeDecodeError:
        raise SheetError("bad_encoding") from None


def _table_rows_csv(text: str) -> list[tuple[int, list]]:
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((";", "\t", ","), key=first.count)
    if not first.count(delimiter):
        delimiter = ";"
    try:
        table = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise SheetError("bad_csv", detail=str(exc)[:100]) from None
    if len(table) > MAX_ROWS + HEADER_SEARCH_ROWS + 1:
        raise SheetError("too_many_rows", row=len(table))
    return [(number, row) for number, row in enumerate(table, start=1)]


def _header(rows: list[tuple[int, list]]) -> tuple[int, dict[str, int]]:
    """The first of the top rows naming our columns (a title line above it is fine)."""
    for number, values in rows[:HEADER_SEARCH_ROWS]:
        columns: dict[str, int] = {}
        for position, value in enumerate(values):
            column = _column_of(_text(value))
            if column and column not in columns:
                columns[column] = position
        if len(columns) >= 2:
            for column in REQUIRED:
                if column not in columns:
                    raise SheetError("missing_column", row=number, column=column)
            if "external_id" not in columns and "contract_number" not in columns:
                raise SheetError("missing_column", row=number, column="external_id")
            return number, columns
    raise SheetError("no_header", row=1)


def _cell(values: list, columns: dict[str, int], column: str):
    position = columns.get(column)
    if position is None or position >= len(values):
        return None
    value = values[position]
    return value.strip() if isinstance(value, str) else value


def _row(number: int, values: list, columns: dict[str, int], today: date) -> SheetRow | list[RowError]:
    raw = {column: _text(_cell(values, columns, column)) for column in columns}
    errors: list[RowError] = []
    parsed: dict = {}
    for column, parser in (("external_id", parse_external_id), ("amount", parse_amount), ("paid_at", parse_date),
                           ("method", parse_method)):
        if column not in columns and column != "method":
            continue
        try:
            parsed[column] = parser(_cell(values, columns, column))
        except ValueError as exc:
            errors.append(RowError(number, column, str(exc), raw.get(column, "")[:100]))
    contract = _text(_cell(values, columns, "contract_number"))[:64]
    if "external_id" not in [e.column for e in errors] and parsed.get("external_id") is None and not contract:
        errors.append(RowError(number, "external_id", "no_deal"))
    if "paid_at" in parsed and parsed["paid_at"] > today:
        errors.append(RowError(number, "paid_at", "date_in_future", raw.get("paid_at", "")))
    if errors:
        return errors
    return SheetRow(row=number, amount=parsed["amount"], paid_at=parsed["paid_at"], method=parsed["method"],
                    external_id=parsed.get("external_id"), contract_number=contract,
                    comment=_text(_cell(values, columns, "comment"))[:500], raw=raw)


def sheet_kind(data: bytes) -> str:
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise SheetError("old_xls")
    return "csv"


def parse_sheet(data: bytes, *, today: date) -> ParsedSheet:
    """Read every row; the file's own problems raise `SheetError`, a row's problems are listed in `errors`."""
    if not data.strip():
        raise SheetError("empty")
    kind = sheet_kind(data)
    if kind == "xlsx":
        table, encoding = _table_rows_xlsx(data), "xlsx"
    else:
        text, encoding = _decode_csv(data)
        if text.lstrip().startswith("1CClientBankExchange"):
            raise SheetError("is_1c_statement")
        table = _table_rows_csv(text)
    header_row, columns = _header(table)
    sheet = ParsedSheet(kind=kind, encoding=encoding, columns=columns)
    for number, values in table:
        if number <= header_row or not any(_text(value) for value in values):
            continue
        result = _row(number, values, columns, today)
        if isinstance(result, SheetRow):
            sheet.rows.append(result)
        else:
            sheet.errors.extend(result)
    if len(sheet.rows) + len({e.row for e in sheet.errors}) > MAX_ROWS:
        raise SheetError("too_many_rows", row=header_row + MAX_ROWS + 1)
    if not sheet.rows and not sheet.errors:
        raise SheetError("no_rows", row=header_row + 1)
    return sheet


def template_csv(headers: list[str], example: list[str]) -> bytes:
    """The template as Russian Excel opens a CSV: UTF-8 with a BOM, semicolons, CRLF."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerow(example)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(headers: list[str], example: list, notes: list[str], sheet_title: str) -> bytes:
    """The template workbook: the header row, one example row, a note per column, plain values only."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title[:31]
    sheet.append(headers)
    sheet.append(example)
    for position, note in enumerate(notes, start=1):
        cell = sheet.cell(row=1, column=position)
        cell.font = Font(bold=True)
        if note:
            cell.comment = Comment(note, "PayPlan")
        sheet.column_dimensions[cell.column_letter].width = max(14, len(headers[position - 1]) + 4)
    sheet.cell(row=2, column=COLUMNS.index("amount") + 1).number_format = "#,##0.00"
    sheet.cell(row=2, column=COLUMNS.index("paid_at") + 1).number_format = "DD.MM.YYYY"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
