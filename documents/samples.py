"""Sample data for previews and for checking a template before it is saved: a made-up client and plan,
with the account's own requisites, so the preview shows the company as its clients will see it."""
from datetime import date, timedelta
from decimal import Decimal

from django.utils.translation import gettext, pgettext

from billing.models import Account
from billing.texts import account_language
from billing.time import account_today
from documents import contexts, formatting
from documents.kinds import Kind

# A made-up company for demos, benchmarks and tests (the preview uses the account's own requisites).
SAMPLE_REQUISITES = {
    "company_name": "ООО «Школа профессий»", "inn": "7701234567", "kpp": "770101001", "ogrn": "1187746000000",
    "address": "г. Москва, ул. Тверская, д. 1, офис 101", "bank_name": "АО «ТБанк», г. Москва", "bik": "044525974",
    "correspondent_account": "30101810145250000974", "bank_account": "40702810910000012345",
    "email": "buh@school.example", "phone": "+7 495 000-00-00", "director": "Петров П. П.",
    "accountant": "Сидорова А. А.",
}
# The same made-up company for an account that works in English.
SAMPLE_REQUISITES_EN = {
    **SAMPLE_REQUISITES, "company_name": "Skills School LLC", "address": "1 Tverskaya St., office 101, Moscow",
    "bank_name": "TBank JSC, Moscow", "director": "P. Petrov", "accountant": "A. Sidorova",
}
SAMPLE_CONTRACT_NUMBER = "Д-2026-000001"
# The made-up client and service of a preview in the account's language (the requisites are the account's own).
SAMPLE_CONTRACT_NUMBERS = {"ru": SAMPLE_CONTRACT_NUMBER, "en": "C-2026-000001"}
SAMPLE_PAYMENT_URL = "https://pay.cloudpayments.ru/example/0000000000"


def sample_variables(*, account: Account, kind: str) -> dict:
    """Read in the language the preview is made in (documents.services sets the account's)."""
    today = account_today(account)
    service_name = pgettext("document sample", "Tuition: a beauty therapy course")
    contract_number = SAMPLE_CONTRACT_NUMBERS.get(account_language(account), SAMPLE_CONTRACT_NUMBER)
    total, already_paid, count = Decimal("160000.00"), Decimal("10000.00"), 6
    monthly = Decimal("25000.00")
    lines = []
    for seq in range(1, count + 1):
        due = _add_months(today.replace(day=5), seq - 1)
        paid = monthly if seq == 1 else Decimal("0.00")
        status = "paid" if seq == 1 else "invoiced" if seq == 2 else "planned"
        regular = str(contexts.KIND_LABELS["regular"])
        lines.append({"seq": seq, "due_date": due, "kind": "regular", "kind_label": regular, "label": regular,
                      "amount": monthly, "paid": paid, "remaining": monthly - paid, "status": status,
                      "status_label": str(contexts.STATUS_LABELS[status]),
                      "interest": Decimal("0.00"), "principal": monthly})
    paid_total = already_paid + monthly
    variables = {
        "company": contexts.company_variables(account),
        "missing_requisites": [str(contexts.REQUISITE_LABELS[key]) for key in contexts.requisites_missing(account)],
        "client": {"name": pgettext("document sample", "Maria Ivanova"), "email": "maria@example.com",
                   "phone": "+7 900 000-00-00"},
        "deal": {"lead_id": 17651, "name": service_name, "service_name": service_name,
                 "contract_number": contract_number, "group": pgettext("document sample", "Intake 2026-11"),
                 "education_direction": pgettext("document sample", "Beauty therapy"), "total": total,
                 "paid": paid_total,
                 "debt": total - paid_total},
        "currency": account.currency, "today": today, "language": contexts.document_language(),
        "schedule": {"version": 1, "plan": "equal", "plan_label": str(contexts.PLAN_LABELS["equal"]),
                     "direction": "incoming", "total": total, "already_paid": already_paid, "paid": paid_total,
                     "debt": total - paid_total, "installments_count": count, "monthly_payment": monthly,
                     "last_due_date": lines[-1]["due_date"], "installments": lines,
                     "interest_total": Decimal("0.00"), "effective_rate": None, "annual_rate": None},
    }
    if kind == Kind.INVOICE:
        variables["invoice"] = {
            "number": f"{today.year}-000002", "status": "issued", "date": today, "due_date": lines[1]["due_date"],
            "installment_due_date": lines[1]["due_date"], "amount": monthly,
            "amount_words": formatting.amount_in_words(monthly, account.currency),
            "payment_url": SAMPLE_PAYMENT_URL, "vat_label": gettext("No VAT"), "vat_amount": None, "sbp_url": "",
            "installment_seq": 2, "installments_count": count,
            "lines": [{"n": 1, "title": contexts.invoice_line_title(
                service_name=service_name, contract_number=contract_number, kind="regular", label="",
                seq=2, count=count),
                "quantity": 1, "unit": contexts.service_unit(), "price": monthly, "amount": monthly}],
        }
    elif kind == Kind.RECEIPT:
        variables["payment"] = {
            "number": f"{today.year}-000009", "date": today, "amount": monthly,
            "amount_words": formatting.amount_in_words(monthly, account.currency), "method": "cloudpayments",
            "method_label": str(contexts.METHOD_LABELS["cloudpayments"]), "transaction_id": "1234567890",
            "invoice_number": f"{today.year}-000001", "comment": "", "paid_total": paid_total,
            "debt_after": total - paid_total,
        }
    elif kind == Kind.CONTRACT:
        variables["contract"] = {"number": contract_number, "date": today,
                                 "city": contexts.city_from_address(variables["company"]["address"])
                                 or pgettext("document sample", "Moscow")}
    elif kind == Kind.OFFER:
        variables["offer"] = {"number": f"17651-{today:%y%m%d}", "date": today,
                              "valid_until": today + timedelta(days=14)}
    return variables


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return day.replace(year=day.year + month // 12, month=month % 12 + 1)
