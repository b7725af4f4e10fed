"""Payments from an Excel/CSV sheet: preview per row, errors naming row and column, confirm once, storno, audit."""
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from billing.errors import ApplicationError
from billing.models import BankDocument, BankStatement, Deal, Payment
from billing.services.bank_statements import bank_document_unconfirm, bank_statement_confirm_exact
from billing.services.payment_sheets import payment_sheet_upload
from billing.time import account_today
from tests.bank_statements.conftest import LEAD, OTHER_LEAD
from tests.bank_statements.test_bank_api import AdminClient
from tests.bank_statements.test_bank_import import first_line_amount
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db
HEADER = ["ID сделки", "Номер договора", "Сумма", "Дата оплаты", "Способ оплаты", "Комментарий"]


def day(account, back: int = 1) -> str:
    return (account_today(account) - timedelta(days=back)).strftime("%d.%m.%Y")


def csv_bytes(rows, header=HEADER, encoding="utf-8-sig", sep=";") -> bytes:
    lines = [sep.join(header)] + [sep.join(str(cell) for cell in row) for row in rows]
    return "\r\n".join(lines).encode(encoding)


def xlsx_bytes(rows, header=HEADER, hook=None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    if hook:
        hook(sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(account, data: bytes, name: str = "payments.csv") -> BankStatement:
    return payment_sheet_upload(account=account, data=data, file_name=name, uploaded_by=7)


def test_good_rows_are_matched_by_lead_id_and_contract_number_bad_rows_name_row_and_column(deals, account):
    deal, other = deals
    amount = first_line_amount(deal)
    statement = upload(account, csv_bytes([
        [LEAD, "", f"{amount:,.2f}".replace(",", " ").replace(".", ","), day(account), "Наличные", "касса"],
        ["", "№ Д 2026/000018", "1 500,00 ₽", day(account, 2), "", ""],
        [LEAD, "", "abc", day(account), "", ""],
        [LEAD, "", "100", "31.02.2026", "", ""],
        [999999, "", "100", day(account), "", ""],
        ["", "", "100", day(account), "", ""],
        [LEAD, "", "100", day(account, -3), "чек", ""],
    ]))
    documents = list(BankDocument.objects.filter(statement=statement).order_by("row"))
    assert [(d.row, d.suggested_deal_id, d.method, d.confidence) for d in documents] == [
        (2, deal.pk, "cash", 100), (3, other.pk, "bank_transfer", 100)]
    assert documents[0].match_reasons == ["external_id", "amount_equal"]
    assert documents[1].match_reasons == ["sheet_contract", "partial_payment"]
    assert documents[1].amount == Decimal("1500.00")
    errors = [(e["row"], e["column"], e["code"]) for e in statement.row_errors]
    assert errors == [(4, "amount", "bad_amount"), (5, "paid_at", "bad_date"), (6, "external_id", "deal_not_found"),
                      (7, "external_id", "no_deal"), (8, "paid_at", "date_in_future"), (8, "method", "bad_method")]
    assert (statement.source, statement.documents_total) == ("csv", 2)


def test_confirm_records_each_valid_row_once_linked_to_file_and_row(deals, account):
    deal, _other = deals
    data = xlsx_bytes([[LEAD, None, 1000, day(account), "Банковский перевод", "п/п 15"],
                       [LEAD, None, "oops", day(account), None, None]])
    statement = upload(account, data, "май.xlsx")
    confirmed, failed = bank_statement_confirm_exact(statement=statement, confirmed_by=7)
    assert (len(confirmed), failed) == (1, [])
    payment = Payment.objects.get(deal=deal)
    assert (payment.amount, payment.method, payment.recorded_by) == (Decimal("1000.00"), "bank_transfer", 7)
    assert (payment.bank_document.statement.file_name, payment.bank_document.row) == ("май.xlsx", 2)
    assert "май.xlsx" in payment.comment
    assert "п/п 15" in payment.comment
    # confirming again, uploading the same file again (or the same payments re-saved as CSV) records nothing
    assert bank_statement_confirm_exact(statement=statement, confirmed_by=7) == ([], [])
    assert upload(account, data, "май.xlsx").pk == statement.pk
    assert upload(account, csv_bytes([[LEAD, "", "1000", day(account), "Банковский перевод", "п/п 15"],
                                      [LEAD, "", "oops", day(account), "", ""]])).pk == statement.pk
    assert Payment.objects.filter(deal=deal).count() == 1
    deal.refresh_from_db()
    assert deal.paid == Decimal("1000.00")


def test_a_row_repeating_a_recorded_payment_is_not_confirmed_in_bulk(deals, account):
    deal, _other = deals
    upload(account, csv_bytes([[LEAD, "", "700", day(account), "", ""]]))
    bank_statement_confirm_exact(statement=BankStatement.objects.get(), confirmed_by=7)
    second = upload(account, csv_bytes([[LEAD, "", "700", day(account), "", "ещё раз"]]))
    document = BankDocument.objects.get(statement=second)
    assert "possible_duplicate" in document.match_reasons
    assert document.confidence < 90
    assert bank_statement_confirm_exact(statement=second, confirmed_by=7) == ([], [])
    assert Payment.objects.filter(deal=deal).count() == 1


def test_storno_of_an_imported_payment_reopens_the_row_without_its_suggestion(deals, account):
    deal, _other = deals
    statement = upload(account, csv_bytes([[LEAD, "", "900", day(account), "", ""]]))
    bank_statement_confirm_exact(statement=statement, confirmed_by=7)
    document = BankDocument.objects.get()
    storno = bank_document_unconfirm(document=document, reason="не та сделка", decided_by=7)
    original = storno.reversal_of
    document.refresh_from_db()
    assert storno.amount == Decimal("-900.00")
    assert document.history[0]["payment_id"] == original.pk
    assert document.history[0]["storno_id"] == storno.pk
    assert "payments.csv" in original.comment  # the file and row stay on it too
    assert "2" in original.comment
    assert (document.status, document.suggested_deal_id, document.confidence) == ("new", None, 0)
    assert bank_statement_confirm_exact(statement=statement, confirmed_by=7) == ([], [])
    deal.refresh_from_db()
    assert deal.paid == Decimal("0.00")


@pytest.mark.parametrize(("hook", "code", "row"), [
    (lambda sheet: sheet.__setitem__("C2", "=1+1"), "formula", 2),
    (lambda sheet: sheet.merge_cells("E2:F2"), "merged_cells", 2),
])
def test_formulas_and_merged_cells_refuse_the_file_naming_the_row(deals, account, hook, code, row):
    data = xlsx_bytes([[LEAD, None, 100, day(account), None, None]], hook=hook)
    with pytest.raises(ApplicationError) as error:
        upload(account, data, "x.xlsx")
    assert error.value.code == "bad_sheet"
    assert str(row) in error.value.message
    assert not BankStatement.objects.exists()
    assert not BankDocument.objects.exists()


@pytest.mark.parametrize("data", [
    b"PK\x03\x04 truncated zip", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old xls", b"", "Сумма;Дата\r\n".encode(),
    "1CClientBankExchange\r\nВерсияФормата=1.03\r\n".encode("cp1251"), "Комментарий;Имя\r\nx;y\r\n".encode(),
])
def test_files_that_are_not_payment_sheets_are_refused(deals, account, data):
    with pytest.raises(ApplicationError) as error:
        upload(account, data)
    assert error.value.code == "bad_sheet"
    assert not BankStatement.objects.exists()


def test_cp1251_comma_separated_csv_with_english_headers_and_iso_dates(deals, account):
    _deal, _other = deals
    today = account_today(account) - timedelta(days=1)
    data = csv_bytes([[LEAD, "", "250.50", today.isoformat(), "cash", "тест"]],
                     header=["Lead ID", "Contract number", "Amount", "Payment date", "Method", "Comment"],
                     encoding="cp1251", sep=",")
    document = BankDocument.objects.get(statement=upload(account, data))
    assert (document.amount, document.credit_date, document.method, document.purpose) == (
        Decimal("250.50"), today, "cash", "тест")


def test_a_lead_of_another_account_is_not_found(deals, account, other_account):
    foreign = Deal.objects.get(account=other_account)
    statement = upload(account, csv_bytes([["", foreign.contract_number, "100", day(account), "", ""]]))
    assert [e["code"] for e in statement.row_errors] == ["contract_not_found"]
    assert not BankDocument.objects.exists()


def thousand_rows(account):
    rows = [[LEAD if n % 2 else OTHER_LEAD, "", f"{n % 97 + 1},{n % 100:02d}", day(account, n % 30 + 1), "", ""]
            for n in range(1000)]
    rows[500][2] = "сто"
    return rows


def test_a_thousand_rows_preview_once_with_the_bad_row_listed(deals, account):
    rows = thousand_rows(account)
    data = xlsx_bytes(rows)
    statement = upload(account, data, "big.xlsx")
    assert statement.documents_total == 999
    assert [(e["row"], e["column"]) for e in statement.row_errors] == [(502, "amount")]
    documents = BankDocument.objects.filter(statement=statement)
    assert documents.count() == 999
    assert sorted(documents.values_list("row", flat=True)) == [n + 2 for n in range(1000) if n != 500]
    assert sum(documents.values_list("amount", flat=True), Decimal(0)) == sum(
        (Decimal(r[2].replace(",", ".")) for i, r in enumerate(rows) if i != 500), Decimal(0))
    assert upload(account, data, "big-again.xlsx").pk == statement.pk
    assert BankDocument.objects.count() == 999


@pytest.mark.slow
def test_a_thousand_rows_confirmed_in_bulk(deals, account):
    """Minutes long: 500 payments on each of two deals re-allocate every earlier one (real sheets spread)."""
    deal, other = deals
    rows = thousand_rows(account)
    statement = upload(account, xlsx_bytes(rows), "big.xlsx")
    confirmed, failed = bank_statement_confirm_exact(statement=statement, confirmed_by=7)
    assert failed == []
    recorded = sum(Payment.objects.filter(deal__in=[deal, other]).values_list("amount", flat=True), Decimal(0))
    assert recorded == sum((d.amount for d in confirmed), Decimal(0))
    assert len(confirmed) + BankDocument.objects.filter(statement=statement, status="new").count() == 999
    assert bank_statement_confirm_exact(statement=statement, confirmed_by=7) == ([], [])


class TestApi:
    @pytest.fixture
    def admin(self, account):
        return AdminClient(account)

    def post_file(self, client, data: bytes, name: str):
        return client.client.post("/api/v1/payment-imports", {"file": SimpleUploadedFile(name, data)},
                                  format="multipart", HTTP_ACCEPT_LANGUAGE="ru", **client.headers())

    def test_template_upload_preview_confirm_and_reverse(self, admin, deals, account, other_account):
        _deal, _other = deals
        template = admin.client.get("/api/v1/payment-imports/template.xlsx", HTTP_ACCEPT_LANGUAGE="ru",
                                    **admin.headers())
        assert template.status_code == 200
        sheet = load_workbook(io.BytesIO(template.content)).active
        assert [cell.value for cell in sheet[1]][:3] == ["ID сделки", "Номер договора", "Сумма"]
        sheet.cell(row=2, column=1, value=LEAD)
        sheet.cell(row=2, column=4, value=account_today(account) - timedelta(days=1))
        sheet.append([LEAD, None, "минус", day(account)])
        out = io.BytesIO()
        sheet.parent.save(out)
        response = self.post_file(admin, out.getvalue(), "шаблон.xlsx")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["source"] == "xlsx"
        assert len(body["documents"]) == 1
        assert body["documents"][0]["row"] == 2
        assert body["documents"][0]["suggested_lead_id"] == LEAD
        assert body["row_errors"][0]["message"].startswith("Строка 3, столбец «Сумма»")
        confirmed = admin.post(f"/api/v1/bank-statements/{body['id']}/confirm", {})
        assert confirmed.status_code == 200, confirmed.content
        assert confirmed.json()["confirmed"] == 1
        assert admin.post(f"/api/v1/bank-statements/{body['id']}/confirm", {}).json()["confirmed"] == 0
        document_id = body["documents"][0]["id"]
        assert_error(admin.post(f"/api/v1/bank-documents/{document_id}/reverse", {}), 422)
        reversed_ = admin.post(f"/api/v1/bank-documents/{document_id}/reverse", {"reason": "ошибка"})
        assert reversed_.status_code == 200, reversed_.content
        assert (reversed_.json()["status"], reversed_.json()["payment_id"]) == ("new", None)
        assert_error(admin.post(f"/api/v1/bank-documents/{document_id}/reverse", {"reason": "ещё"}), 409,
                     "bank_document_not_confirmed")
        picks = admin.get(f"/api/v1/bank-documents/{document_id}/candidates", q="2026-000018")
        assert [c["lead_id"] for c in picks.json()["candidates"]] == [OTHER_LEAD]
        everyone = admin.get(f"/api/v1/bank-documents/{document_id}/candidates").json()["candidates"]
        assert {c["lead_id"] for c in everyone} == {LEAD, OTHER_LEAD}
        assert_error(AdminClient(other_account).get(f"/api/v1/bank-documents/{document_id}/candidates"), 404)
        moved = admin.post(f"/api/v1/bank-documents/{document_id}/confirm", {"contract_number": "Д-2026-000018"})
        assert moved.status_code == 201, moved.content
        assert Payment.objects.get(pk=moved.json()["payment_id"]).deal.external_id == OTHER_LEAD

    def test_csv_template_and_refusals(self, admin, widget, deals):
        template = admin.client.get("/api/v1/payment-imports/template.csv", HTTP_ACCEPT_LANGUAGE="ru",
                                    **admin.headers())
        assert template.content.decode("utf-8-sig").startswith("ID сделки;Номер договора;Сумма")
        error = assert_error(self.post_file(admin, b"PK\x03\x04broken", "x.xlsx"), 422, "bad_sheet", "file")
        assert "Excel" in error["message"]
        assert_error(self.post_file(widget, b"a;b", "x.csv"), 403)
        assert_error(admin.client.post("/api/v1/payment-imports", {}, format="multipart", **admin.headers()), 422)
