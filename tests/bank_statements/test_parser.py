"""The 1C statement parser: the contract's sample, encodings, line endings and every refusal names its line."""
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.domain.bank_statement import StatementError, parse_statement, render_statement

DATA = Path(__file__).parent / "data"
OURS = frozenset({"40702810600000000001"})


def sample(name: str = "sample_cp1251_crlf.txt") -> bytes:
    return (DATA / name).read_bytes()


def test_contract_sample_in_cp1251_crlf_reads_two_credits_and_a_fee():
    statement = parse_statement(sample(), our_accounts=OURS)
    assert statement.encoding == "cp1251"
    assert statement.accounts == ("40702810600000000001",)
    assert len(statement.documents) == 3
    assert [b.closing for b in statement.balances] == [Decimal("136000.00")]
    first, second = statement.incoming(OURS)
    assert first.number == "512"
    assert first.amount == Decimal("25000.00")
    assert first.payer_inn == "5012000004"
    assert "PP-2026-000123" in first.purpose
    assert second.amount == Decimal("12500")
    assert second.payer_inn == "501200000042"
    assert second.payer_name == "ИП Тестов Тест Тестович"
    assert second.credit_date == date(2026, 5, 15)
    assert second.doc_date == date(2026, 5, 14)
    assert "НДС=0" in second.purpose  # split on the first "=" only
    assert statement.warnings == ()


def test_utf8_lf_copy_and_bom_read_the_same():
    cp1251 = parse_statement(sample(), our_accounts=OURS)
    utf8 = parse_statement(sample("sample_utf8_lf.txt"), our_accounts=OURS)
    bom = parse_statement(b"\xef\xbb\xbf" + sample("sample_utf8_lf.txt"), our_accounts=OURS)
    assert utf8.encoding == bom.encoding == "utf-8"
    assert cp1251.documents == utf8.documents == bom.documents


def test_bare_cr_line_endings_are_accepted():
    text = sample("sample_utf8_lf.txt").replace(b"\n", b"\r")
    assert len(parse_statement(text).documents) == 3


def test_dos_encoding_is_read_as_cp866():
    text = sample("sample_utf8_lf.txt").decode("utf-8").replace("Кодировка=Windows", "Кодировка=DOS")
    statement = parse_statement(text.encode("cp866"))
    assert statement.encoding == "cp866"
    assert statement.documents[0].payer_inn == "5012000004"


def test_truncated_file_without_end_marker_is_refused_with_the_last_line():
    lines = sample("sample_utf8_lf.txt").decode().split("\n")
    cut = "\n".join(lines[:40]).encode()
    with pytest.raises(StatementError) as error:
        parse_statement(cut)
    assert error.value.code == "unclosed_document"
    assert error.value.line == 40


def test_file_without_konecfaila_is_truncated():
    text = sample("sample_utf8_lf.txt").decode().replace("КонецФайла\n", "")
    with pytest.raises(StatementError) as error:
        parse_statement(text.encode())
    assert error.value.code == "truncated"


def test_not_a_1c_file_is_refused():
    with pytest.raises(StatementError) as error:
        parse_statement("Дата;Сумма\n01.01.2026;100\n".encode())
    assert error.value.code == "not_1c"
    assert error.value.line == 1


def test_utf16_file_is_a_wrong_encoding():
    with pytest.raises(StatementError) as error:
        parse_statement(sample("sample_utf8_lf.txt").decode().encode("utf-16"))
    assert error.value.code == "bad_encoding"


def test_latin_bytes_without_any_cyrillic_key_are_a_wrong_encoding():
    with pytest.raises(StatementError) as error:
        parse_statement(b"1CClientBankExchange\r\nVersion=1.03\r\n\xff\xfe\r\n")
    assert error.value.code == "bad_encoding"


def test_statement_of_another_company_is_refused():
    with pytest.raises(StatementError) as error:
        parse_statement(sample(), our_accounts=frozenset({"40702810900000000099"}))
    assert error.value.code == "foreign_account"


def test_balances_that_do_not_add_up_are_refused_at_the_block_line():
    text = sample("sample_utf8_lf.txt").decode().replace("КонечныйОстаток=136000.00", "КонечныйОстаток=136000.01")
    with pytest.raises(StatementError) as error:
        parse_statement(text.encode())
    assert error.value.code == "balance_mismatch"
    assert error.value.line == 10


def test_bad_amount_names_its_own_line():
    text = sample("sample_utf8_lf.txt").decode().replace("Сумма=12500\n", "Сумма=12 5OO\n")
    with pytest.raises(StatementError) as error:
        parse_statement(text.encode())
    assert error.value.code == "bad_amount"
    assert error.value.line == 39


def test_bad_date_names_its_line():
    text = sample("sample_utf8_lf.txt").decode().replace("Дата=14.05.2026", "Дата=31.02.2026")
    with pytest.raises(StatementError) as error:
        parse_statement(text.encode())
    assert error.value.code == "bad_date"
    assert error.value.line == 38


def test_credits_not_matching_the_balance_total_only_warn():
    text = sample("sample_utf8_lf.txt").decode().replace(
        "ВсегоПоступило=37500.00\nВсегоСписано=1500.00", "ВсегоПоступило=37600.00\nВсегоСписано=1600.00")
    statement = parse_statement(text.encode())
    assert statement.warnings
    assert statement.warnings[0].startswith("credits:")


def test_junk_payer_inn_is_treated_as_absent_and_number_stays_a_string():
    text = sample("sample_utf8_lf.txt").decode().replace("ПлательщикИНН=5012000004", "ПлательщикИНН=0").replace(
        "Номер=512", "Номер=FDC240")
    document = parse_statement(text.encode()).documents[0]
    assert document.number == "FDC240"
    assert document.payer_inn == "5012000004"  # taken from «Плательщик=ИНН 5012000004 …»


def generated(count: int) -> list[dict[str, str]]:
    return [{"Номер": str(1000 + i), "Дата": "15.05.2026", "Сумма": f"{100 + i}.{i % 100:02d}",
             "ПлательщикСчет": f"40702810{i:012d}", "ПлательщикИНН": "5012000004",
             "ПолучательСчет": "40702810600000000001", "ДатаПоступило": "15.05.2026",
             "НазначениеПлатежа": f"Оплата по счету PP-2026-{i:06d}"} for i in range(count)]


def test_a_thousand_generated_documents_parse_in_cp1251():
    documents = generated(1000)
    text = render_statement(["40702810600000000001"], documents)
    statement = parse_statement(text.encode("cp1251"), our_accounts=OURS)
    assert len(statement.incoming(OURS)) == 1000
    assert sum(d.amount for d in statement.documents) == statement.balances[0].credited
    assert statement.warnings == ()


money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2)
purpose = st.text(alphabet="абвгдеёжзАБВГДЕЁЖЗ №N#=.,-/()0123456789ABCXYZ", max_size=80).map(str.strip)


@settings(max_examples=40, deadline=None)
@given(amounts=st.lists(money, min_size=1, max_size=8), purposes=st.lists(purpose, min_size=8, max_size=8),
       encoding=st.sampled_from(["cp1251", "utf-8"]), newline=st.sampled_from(["\r\n", "\n"]))
def test_rendered_statements_round_trip(amounts, purposes, encoding, newline):
    documents = [{"Номер": str(i + 1), "Дата": "15.05.2026", "Сумма": str(a),
                  "ПлательщикСчет": f"4070281000000000{i:04d}",
                  "ПолучательСчет": "40702810600000000001", "НазначениеПлатежа": purposes[i]}
                 for i, a in enumerate(amounts)]
    text = render_statement(["40702810600000000001"], documents).replace("\r\n", newline)
    statement = parse_statement(text.encode(encoding), our_accounts=OURS)
    assert [d.amount for d in statement.documents] == amounts
    assert [d.purpose for d in statement.documents] == [p for p in purposes[: len(amounts)]]
    assert statement.encoding == encoding
