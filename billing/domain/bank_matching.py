"""Which open instalment a bank credit pays: invoice number, contract number, payer INN and amount. Pure Python."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

EXACT = 90  # at and above: «Подтвердить точные» confirms it without a look


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
    contracts = {line.contract_number for run in runs for line in index.contracts.get(run, ())
                 if _mentions(text, line.contract_number)}
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
