"""Bench: parse a 1C statement of 10 000 credits (cp1251, CRLF) and match each against 2 000 open instalments.

Pure Python (billing.domain), no database: the figures are the parser and the matcher themselves.
Run: .venv/bin/python bench/bank_statement.py [--documents 10000] [--lines 2000]
"""
import argparse
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from billing.domain.bank_matching import EXACT, LineIndex, OpenLine, match_credit
from billing.domain.bank_statement import parse_statement, render_statement

OUR = "40702810600000000001"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=2_000)
    args = parser.parse_args()
    lines = [OpenLine(deal_id=i, installment_id=i, remaining=Decimal(1000 + i), contract_number=f"Д-2026-{i:06d}",
                      client_inn=f"50120{i:05d}", invoice_id=i, invoice_number=f"2026-{i:06d}",
                      invoice_remaining=Decimal(1000 + i)) for i in range(1, args.lines + 1)]
    purposes = ["Оплата по счету № PP-2026-{n:06d}", "по договору Д-2026-{n:06d}, взнос", "Оплата за обучение"]
    documents = [{"Номер": str(i), "Дата": "15.05.2026", "Сумма": str(1000 + i % args.lines + 1),
                  "ПлательщикСчет": f"40702810{i:012d}", "ПлательщикИНН": f"50120{i % args.lines + 1:05d}",
                  "ПолучательСчет": OUR, "ДатаПоступило": "15.05.2026",
                  "НазначениеПлатежа": purposes[i % 3].format(n=i % args.lines + 1)} for i in range(args.documents)]
    data = render_statement([OUR], documents).encode("cp1251")
    started = time.perf_counter()
    index = LineIndex(lines)
    statement = parse_statement(data, our_accounts=frozenset({OUR}))
    parsed = time.perf_counter()
    matches = [match_credit(purpose=d.purpose, payer_inn=d.payer_inn, amount=d.amount, lines=index)
               for d in statement.incoming(frozenset({OUR}))]
    matched = time.perf_counter()
    exact = sum(1 for m in matches if m.confidence >= EXACT)
    print(f"file {len(data) / 1e6:.2f} MB, {len(statement.documents)} documents, {len(lines)} open lines")
    print(f"parse {parsed - started:.2f} s, match {matched - parsed:.2f} s, exact {exact}, "
          f"unmatched {sum(1 for m in matches if m.deal_id is None)}")


if __name__ == "__main__":
    main()
