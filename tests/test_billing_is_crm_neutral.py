"""Billing names no CRM: no `amocrm`, `lead_id` or `subdomain` under billing/ (issue [G]).

A deal has a CRM kind and an external id; the CRM side (crm/, crm/amocrm/, crm/bitrix24/) and the widget
API (which still speaks `lead_id` over HTTP) map to and from them. Migrations are history and stay as
they were written; compiled catalogues follow their .po files, which are checked.
"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDS = re.compile(r"amocrm|lead_id|subdomain", re.IGNORECASE)


def _billing_files():
    for path in sorted((ROOT / "billing").rglob("*")):
        parts = path.relative_to(ROOT).parts
        if path.is_dir() or "migrations" in parts or "__pycache__" in parts or path.suffix in {".mo", ".pyc"}:
            continue
        yield path


def test_billing_names_no_crm():
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in _billing_files()
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if WORDS.search(line)]
    assert not found, "billing/ must stay CRM-neutral:\n" + "\n".join(found)


def test_the_check_sees_billing():
    assert sum(1 for _ in _billing_files()) > 50
