"""Bank statements in the 1C exchange format ("1CClientBankExchange"): bytes in, checked dataclasses out.

Pure Python. Every problem is a `StatementError` naming a code and the 1-based line, so the caller can
refuse the whole file (nothing is recorded from a file that does not read cleanly) and say where it broke.
Format facts: /work/shared/contracts/bank-statement-1c.md.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

FIRST_LINE = "1CClientBankExchange"
END_OF_FILE = "КонецФайла"
KNOWN_VERSIONS = ("1.01", "1.02", "1.03")
_AMOUNT = re.compile(r"^-?\d+(\.\d{1,2})?$")
_DIGITS = re.compile(r"\D")


class StatementError(ValueError):
    """A file that cannot be imported: `code` names the rule, `line` is 1-based (0 = the whole file)."""

    def __init__(self, code: str, line: int = 0, detail: str = "") -> None:
        self.code, self.line, self.detail = code, line, detail
        super().__init__(f"{code} at line {line}: {detail}" if detail else f"{code} at line {line}")


@dataclass(frozen=True)
class BalanceBlock:
    account: str
    date_from: date | None
    date_to: date | None
    opening: Decimal
    credited: Decimal
    debited: Decimal
    closing: Decimal
    line: int


@dataclass(frozen=True)
class StatementDocument:
    kind: str
    number: str
    doc_date: date
    amount: Decimal
    payer_account: str
    payee_account: str
    payer_inn: str
    payee_inn: str
    payer_name: str
    payee_name: str
    purpose: str
    credited_on: date | None
    debited_on: date | None
    payment_kind: str
    line: int
    raw: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def credit_date(self) -> date:
        """The day money reached us: ДатаПоступило, else ДатаСписано, else the document date."""
        return self.credited_on or self.debited_on or self.doc_date


@dataclass(frozen=True)
class Statement:
    version: str
    encoding: str  # how the bytes were read: utf-8, cp1251 or cp866
    sender: str
    created_on: date | None
    date_from: date | None
    date_to: date | None
    accounts: tuple[str, ...]
    balances: tuple[BalanceBlock, ...]
    documents: tuple[StatementDocument, ...]
    warnings: tuple[str, ...] = ()

    def incoming(self, our_accounts: frozenset[str]) -> list[StatementDocument]:
        """Customer money: paid to one of our accounts from an account that is not ours."""
        return [d for d in self.documents if d.payee_account in our_accounts and d.payer_account not in our_accounts]


def decode(data: bytes) -> tuple[str, str]:
    """Sniff the encoding (the key `Кодировка` is itself Cyrillic): UTF-8 with the right first line, else
    cp1251 (re-read as cp866 when it says DOS), else cp866; anything else is not a 1C statement."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise StatementError("bad_encoding", 1, "UTF-16")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and _first_line(text) == FIRST_LINE:
        return text, "utf-8"
    if _first_line(data.decode("latin-1")) != FIRST_LINE:
        raise StatementError("not_1c", 1)
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:
        text = None
    if (text is not None and not re.search(r"^\s*Кодировка\s*=\s*DOS\s*$", text, re.MULTILINE)
            and ("Кодировка" in text or "КонецФайла" in text)):
        return text, "cp1251"
    try:
        text = data.decode("cp866")
    except UnicodeDecodeError as exc:  # pragma: no cover - cp866 maps every byte
        raise StatementError("bad_encoding", 0) from exc
    if "КонецФайла" in text or "Кодировка" in text:
        return text, "cp866"
    raise StatementError("bad_encoding", 0)


def _first_line(text: str) -> str:
    return re.split(r"[\r\n]", text, maxsplit=1)[0].strip().lstrip("\ufeff")


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _date(value: str, line: int, key: str) -> date | None:
    if not value:
        return None
    try:
        day, month, year = (int(part) for part in value.split("."))
        if len(value) != 10:
            raise ValueError(value)
        return date(year, month, day)
    except ValueError:
        raise StatementError("bad_date", line, f"{key}={value}") from None


def _money(value: str, line: int, key: str) -> Decimal:
    value = value.replace(" ", "").replace(",", ".")
    if not _AMOUNT.match(value):
        raise StatementError("bad_amount", line, f"{key}={value}")
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern already refuses these
        raise StatementError("bad_amount", line, f"{key}={value}") from None


def _account(value: str) -> str:
    return value.replace(" ", "")


def _inn(value: str) -> str:
    """Junk INNs (`0`, `4`) occur: only 10 or 12 digits count as one."""
    digits = _DIGITS.sub("", value.upper().replace("ИНН", ""))
    return digits if len(digits) in (10, 12) else ""


def parse_statement(data: bytes, *, our_accounts: frozenset[str] | None = None) -> Statement:
    """Read a whole statement or raise `StatementError`. With `our_accounts`, a file for none of them is
    refused (another company's statement)."""
    text, encoding = decode(data)
    lines = _lines(text)
    header: dict[str, str] = {}
    header_accounts: list[str] = []
    balances: list[BalanceBlock] = []
    documents: list[StatementDocument] = []
    warnings: list[str] = []
    section: str | None = None  # None = header, "balance", "document"
    block: dict[str, str] = {}
    block_start = 0
    kind = ""
    ended_at = 0
    for index, raw_line in enumerate(lines[1:], start=2):
        line = raw_line.strip()
        if not line:
            continue
        if ended_at:
            raise StatementError("after_end", index)
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep:
            if key == "СекцияРасчСчет":
                if section is not None and section != "balance_done":
                    _unclosed(section, index)
                if section is None:
                    section = "balance_done"
                section, block, block_start = "balance", {}, index
            elif key == "КонецРасчСчет":
                if section != "balance":
                    raise StatementError("unexpected_marker", index, key)
                balances.append(_balance(block, block_start))
                section = "balance_done"
            elif key == "КонецДокумента":
                if section != "document":
                    raise StatementError("unexpected_marker", index, key)
                documents.append(_document(kind, block, block_start))
                section = "balance_done"
            elif key == END_OF_FILE:
                if section in ("balance", "document"):
                    _unclosed(section, index)
                ended_at = index
            else:
                raise StatementError("unknown_marker", index, key)
            continue
        if key == "СекцияДокумент":
            if section in ("balance", "document"):
                _unclosed(section, index)
            section, block, block_start, kind = "document", {}, index, value
            continue
        if section is None:
            if key == "РасчСчет":
                header_accounts.append(_account(value))
            else:
                header.setdefault(key, value)
            continue
        if section == "balance_done":
            raise StatementError("stray_line", index, key)
        block[key] = value
        block.setdefault(f"__line__{key}", str(index))
    if not ended_at:
        if section in ("balance", "document"):
            _unclosed(section, len(lines))
        raise StatementError("truncated", len(lines))
    version = header.get("ВерсияФормата", "")
    if version not in KNOWN_VERSIONS:
        warnings.append(f"version:{version}")
    accounts = tuple(dict.fromkeys(header_accounts + [b.account for b in balances]))
    if our_accounts is not None and not set(accounts) & set(our_accounts):
        raise StatementError("foreign_account", 0, ",".join(accounts))
    for account in {b.account for b in balances}:
        credited = sum((b.credited for b in balances if b.account == account), Decimal(0))
        documented = sum((d.amount for d in documents if d.payee_account == account), Decimal(0))
        if documents and credited != documented:
            warnings.append(f"credits:{account}:{credited}:{documented}")
    return Statement(
        version=version, encoding=encoding, sender=header.get("Отправитель", ""),
        created_on=_date(header.get("ДатаСоздания", ""), 0, "ДатаСоздания"),
        date_from=_date(header.get("ДатаНачала", ""), 0, "ДатаНачала"),
        date_to=_date(header.get("ДатаКонца", ""), 0, "ДатаКонца"),
        accounts=accounts, balances=tuple(balances), documents=tuple(documents), warnings=tuple(warnings))


def _unclosed(section: str, line: int) -> None:
    raise StatementError("unclosed_balance" if section == "balance" else "unclosed_document", line)


def _line_of(block: dict[str, str], key: str, default: int) -> int:
    return int(block.get(f"__line__{key}", default))


def _balance(block: dict[str, str], start: int) -> BalanceBlock:
    values = {}
    for key in ("НачальныйОстаток", "ВсегоПоступило", "ВсегоСписано", "КонечныйОстаток"):
        if not block.get(key):
            raise StatementError("missing_key", start, key)
        values[key] = _money(block[key], _line_of(block, key, start), key)
    balance = BalanceBlock(
        account=_account(block.get("РасчСчет", "")),
        date_from=_date(block.get("ДатаНачала", ""), _line_of(block, "ДатаНачала", start), "ДатаНачала"),
        date_to=_date(block.get("ДатаКонца", ""), _line_of(block, "ДатаКонца", start), "ДатаКонца"),
        opening=values["НачальныйОстаток"], credited=values["ВсегоПоступило"], debited=values["ВсегоСписано"],
        closing=values["КонечныйОстаток"], line=start)
    if not balance.account:
        raise StatementError("missing_key", start, "РасчСчет")
    if balance.opening + balance.credited - balance.debited != balance.closing:
        raise StatementError("balance_mismatch", start,
                             f"{balance.opening} + {balance.credited} - {balance.debited} != {balance.closing}")
    return balance


def _get(block: dict[str, str], *keys: str) -> str:
    """The first present key; tolerates case variants such as ПлательщикКорСчет / ПлательщикКорсчет."""
    for key in keys:
        if block.get(key):
            return block[key]
    lowered = {k.lower(): v for k, v in block.items() if not k.startswith("__line__")}
    for key in keys:
        if lowered.get(key.lower()):
            return lowered[key.lower()]
    return ""


def _document(kind: str, block: dict[str, str], start: int) -> StatementDocument:
    for key in ("Номер", "Дата", "Сумма"):
        if not block.get(key):
            raise StatementError("missing_key", start, key)
    doc_date = _date(block["Дата"], _line_of(block, "Дата", start), "Дата")
    assert doc_date is not None
    purpose = " ".join(v for v in [_get(block, "НазначениеПлатежа")]
                       + [block.get(f"НазначениеПлатежа{i}", "") for i in range(1, 7)] if v)
    payer_name = _get(block, "Плательщик1", "Плательщик")
    payee_name = _get(block, "Получатель1", "Получатель")
    return StatementDocument(
        kind=kind, number=block["Номер"], doc_date=doc_date,
        amount=_money(block["Сумма"], _line_of(block, "Сумма", start), "Сумма"),
        payer_account=_account(_get(block, "ПлательщикСчет", "ПлательщикРасчСчет")),
        payee_account=_account(_get(block, "ПолучательСчет", "ПолучательРасчСчет")),
        payer_inn=_inn(_get(block, "ПлательщикИНН")) or _inn_from_name(block.get("Плательщик", "")),
        payee_inn=_inn(_get(block, "ПолучательИНН")) or _inn_from_name(block.get("Получатель", "")),
        payer_name=re.sub(r"^ИНН\s*\d+\s*", "", payer_name), payee_name=re.sub(r"^ИНН\s*\d+\s*", "", payee_name),
        purpose=purpose,
        credited_on=_date(block.get("ДатаПоступило", ""), _line_of(block, "ДатаПоступило", start), "ДатаПоступило"),
        debited_on=_date(block.get("ДатаСписано", ""), _line_of(block, "ДатаСписано", start), "ДатаСписано"),
        payment_kind=block.get("ВидОплаты", ""), line=start,
        raw={k: v for k, v in block.items() if not k.startswith("__line__")})


def _inn_from_name(name: str) -> str:
    found = re.match(r"^ИНН\s*(\d{10}|\d{12})\b", name)
    return found.group(1) if found else ""


def render_statement(statement_accounts: list[str], documents: list[dict[str, str]], *,
                     opening: Decimal = Decimal("0"), date_text: str = "15.05.2026",
                     encoding: str = "Windows") -> str:
    """Build a statement text (for tests and the bench): one balance block per account, documents as given.
    Credits/debits of the balance are summed from the documents so the file adds up."""
    out = [FIRST_LINE, "ВерсияФормата=1.03", f"Кодировка={encoding}", "Отправитель=Тестбанк",
           "Получатель=Бухгалтерия", f"ДатаСоздания={date_text}", f"ДатаНачала={date_text}", f"ДатаКонца={date_text}"]
    out += [f"РасчСчет={a}" for a in statement_accounts]
    for account in statement_accounts:
        credited = sum((Decimal(d["Сумма"]) for d in documents if d.get("ПолучательСчет") == account), Decimal(0))
        debited = sum((Decimal(d["Сумма"]) for d in documents if d.get("ПлательщикСчет") == account), Decimal(0))
        out += ["СекцияРасчСчет", f"ДатаНачала={date_text}", f"ДатаКонца={date_text}", f"РасчСчет={account}",
                f"НачальныйОстаток={opening}", f"ВсегоПоступило={credited}", f"ВсегоСписано={debited}",
                f"КонечныйОстаток={opening + credited - debited}", "КонецРасчСчет"]
    for document in documents:
        out.append(f"СекцияДокумент={document.get('__kind__', 'Платежное поручение')}")
        out += [f"{k}={v}" for k, v in document.items() if k != "__kind__"]
        out.append("КонецДокумента")
    out.append(END_OF_FILE)
    return "\r\n".join(out) + "\r\n"
