"""Excel export of analytics rows: numbers stay numbers, text can never become a formula."""
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MONEY_FORMAT = "#,##0.00"
COLUMNS = (
    ("Сделка", "lead_id"), ("Название", "deal_name"), ("Клиент", "client"), ("Группа", "group"),
    ("Направление обучения", "education_direction"), ("Поток денег", "direction"), ("Дата", "date"),
    ("Сумма", "amount"), ("Оплачено", "paid"), ("Остаток", "remaining"), ("Дней просрочки", "days_overdue"),
    ("Менеджер", "manager_id"), ("Способ оплаты", "method"),
)
SHEET_TITLES = {"received": "Поступления", "upcoming": "Предстоящие", "overdue": "Просроченные"}


def safe_cell(value):
    """Text that a spreadsheet would run as a formula is kept as text (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def rows_workbook(sheets: dict[str, list]) -> bytes:
    """One sheet per kind of rows; money as numeric cells with two decimals."""
    book = Workbook()
    book.remove(book.active)
    for kind, rows in sheets.items():
        sheet = book.create_sheet(SHEET_TITLES.get(kind, kind))
        sheet.append([title for title, _ in COLUMNS])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([safe_cell(getattr(row, name)) for _, name in COLUMNS])
        for index, (_, name) in enumerate(COLUMNS, start=1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = 14 if name not in ("deal_name", "client") else 32
            if name in ("amount", "paid", "remaining"):
                for cell in sheet[letter][1:]:
                    cell.number_format = MONEY_FORMAT
            if name == "date":
                for cell in sheet[letter][1:]:
                    cell.number_format = "DD.MM.YYYY"
        sheet.freeze_panes = "A2"
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()
