"""Which open instalment a bank credit pays: invoice number, contract number, payer INN and amount. Pure Python."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

EXACT = 90  # at and above: «Подтвердить точные» confirms it without a look
DISTINCTIVE = 6  # a contract key this long is matched anywhere in the purpose, not only after «договор»


@dataclass(frozen=True)
class OpenLine:
    """An unpaid instalment of a live deal of the same account, with what could name it."""

    deal_id: int
    installment_id: int
    remaining: Decimal
    contract_number: str = ""
    client_inn: str = ""
    invoice_id: int | None = None
    invoice_number: str = ""
    invoice_remaining: Decimal | None = None


@dataclass(frozen=True)
class Match:
    deal_id: int | None = None
    installment_id: int | None = None
    invoice_id: int | None = None
    confidence: int = 0
    reasons: tuple[str, ...] = field(default_factory=tuple)


NO_MATCH = Match(reasons=("no_match",))


def normalize(text: str) -> str:
    """Upper case, Ё→Е, no spaces, dashes or slashes: «PP-2026-000123», «pp 2026 000123» read the same."""
    return re.sub(r"[\s\-_/.]", "", text.upper().replace("Ё", "Е"))


# «договор №18/2026», «дог. N18/2026», «по дог.18/2026 от …», «договору от 01.05.2026 № 18/2026»: the marker,
# an optional «от <date>», an optional number sign, then the number itself (letters, digits, - / . _).
_CONTRACT_MENTION = re.compile(
    r"(?<![А-ЯA-Z])ДОГ(?:ОВОР[А-Я]*|ОВ)?\.?\s*"
    r"(?:ОТ\s*\d{1,2}[./]\d{1,2}[./]\d{2,4}\s*(?:Г\.?|ГОДА)?\s*)?"
    r"(?:(?:№|N|#|NO)\s*\.?\s*)?"
    # the number: words joined by - / \\ _ (spaced only before digits: «18 / 2026», not «18/2026 - оплата»)
    r"([A-ZА-Я0-9]+(?:(?:\s*[\-/\\]\s*(?=\d)|[\-/\\_]|(?<=\d)\.(?=\d))[A-ZА-Я0-9]+)*)")


def contract_key(number: str) -> str:
    """A contract number as the matcher compares it: upper case, Ё→Е, no spaces, dashes, slashes or dots, no
    leading number sign («№ 18/2026», «N18-2026» and «18/2026» are one contract)."""
    key = normalize(number).replace("\\", "")
    return re.sub(r"^(?:№|#|N(?=\d))", "", key)


def contract_mentions(purpose: str) -> tuple[str, ...]:
    """The contract numbers a payment purpose names after «договор»/«дог.», as contract keys, in order."""
    text = re.sub(r"\s+", " ", purpose.upper().replace("Ё", "Е")).replace("#", "№")
    found = []
    for raw in _CONTRACT_MENTION.findall(text):
        key = contract_key(raw)
        if key and any(ch.isdigit() for ch in key) and key not in found:
            found.append(key)
    return tuple(found)


def contract_named(purpose: str, contract_number: str) -> bool:
    """The purpose names this contract after a contract marker («дог. N18/2026» names «18/2026»)."""
    key = contract_key(contract_number)
    return bool(key) and key in contract_mentions(purpose)


def _mentions(purpose: str, number: str) -> bool:
    """The number appears in the purpose, not as part of a longer number."""
    key = normalize(number)
    if not key or key not in purpose:
        return False
    return re.search(rf"(?<![0-9]){re.escape(key)}(?![0-9])", purpose) is not None


class LineIndex:
    """Open lines looked up by the digits of their numbers and by client INN: a 10 000-credit statement against
    thousands of lines stays linear."""

    def __init__(self, lines: list[OpenLine]) -> None:
        self.contracts: dict[str, list[OpenLine]] = {}
        self.invoices: dict[str, list[OpenLine]] = {}
        self.by_inn: dict[str, list[OpenLine]] = {}
        for line in lines:
            for number, table in ((line.contract_number, self.contracts), (line.invoice_number, self.invoices)):
                runs = _DIGIT_RUN.findall(normalize(number))
                if runs:
                    table.setdefault(runs[-1], []).append(line)
            if line.client_inn:
                self.by_inn.setdefault(line.client_inn, []).append(line)


_DIGIT_RUN = re.compile(r"\d+")


def match_credit(*, purpose: str, payer_inn: str, amount: Decimal, lines: list[OpenLine] | LineIndex) -> Match:
    """The best line for one credit, with a confidence 0–100 and the reasons that gave it."""
    index = lines if isinstance(lines, LineIndex) else LineIndex(lines)
    text = normalize(purpose)
    runs = set(_DIGIT_RUN.findall(text))
    named = set(contract_mentions(purpose))
    # A contract counts when the purpose names it after «договор»/«дог.», or, being distinctive (6+ characters),
    # anywhere: a short «5» must not be read out of «взнос 2 из 5».
    contracts = {line.contract_number for run in runs for line in index.contracts.get(run, ())
                 if contract_key(line.contract_number) in named
                 or (len(contract_key(line.contract_number)) >= DISTINCTIVE and _mentions(text, line.contract_number))}
    for number in contracts:  # a contract «Д-2026-000018» must not read as invoice «2026-000018»
        text = text.replace(normalize(number), " ")
    by_invoice = [line for run in sorted(runs) for line in index.invoices.get(run, ())
                  if _mentions(text, line.invoice_number)]
    if by_invoice:
        line = by_invoice[0]
        reasons = ["invoice_number"]
        exact = amount == (line.invoice_remaining if line.invoice_remaining is not None else line.remaining)
        reasons.append("amount_equal" if exact else "amount_differs")
        if payer_inn and line.client_inn == payer_inn:
            reasons.append("inn_equal")
        return Match(line.deal_id, line.installment_id, line.invoice_id, 100 if exact else 75, tuple(reasons))
    by_contract = [line for run in sorted(runs) for line in index.contracts.get(run, ())
                   if line.contract_number in contracts]
    if by_contract:
        deal_lines = _first_deal(by_contract)
        equal = [line for line in deal_lines if line.remaining == amount]
        line = equal[0] if equal else deal_lines[0]
        reasons = ["contract_number", "amount_equal" if equal else "amount_differs"]
        inn_ok = bool(payer_inn) and line.client_inn == payer_inn
        if inn_ok:
            reasons.append("inn_equal")
        confidence = 95 if equal and inn_ok else 90 if equal else 70
        return Match(line.deal_id, line.installment_id, line.invoice_id, confidence, tuple(reasons))
    if payer_inn:
        by_inn = index.by_inn.get(payer_inn, [])
        equal = [line for line in by_inn if line.remaining == amount]
        if len({line.deal_id for line in equal}) == 1:
            line = equal[0]
            return Match(line.deal_id, line.installment_id, line.invoice_id, 90, ("inn_equal", "amount_equal"))
        if len({line.deal_id for line in by_inn}) == 1:
            line = by_inn[0]
            return Match(line.deal_id, line.installment_id, line.invoice_id, 50, ("inn_equal", "amount_differs"))
        if by_inn:
            return Match(confidence=0, reasons=("inn_many_deals",))
    return NO_MATCH


def _first_deal(lines: list[OpenLine]) -> list[OpenLine]:
    deal_id = lines[0].deal_id
    return [line for line in lines if line.deal_id == deal_id]
