"""The documents PayPlan makes and the variables each one's template may read (and nothing else)."""
from django.db import models
from django.utils.translation import pgettext_lazy


class Kind(models.TextChoices):
    INVOICE = "invoice", pgettext_lazy("document kind", "Invoice")
    RECEIPT = "receipt", pgettext_lazy("document kind", "Payment confirmation")
    SCHEDULE = "schedule", pgettext_lazy("document kind", "Payment schedule")
    CONTRACT = "contract", pgettext_lazy("document kind", "Contract")
    OFFER = "offer", pgettext_lazy("document kind", "Commercial offer")


DEAL_KINDS = (Kind.SCHEDULE, Kind.CONTRACT, Kind.OFFER)  # made from a deal, not from one invoice or payment

# What the template editor shows beside each variable and helper, in the manager's language.
COMPANY = {
    "company.name": pgettext_lazy("template variable", "Organisation / sole trader name"),
    "company.inn": pgettext_lazy("template variable", "TIN (INN)"),
    "company.kpp": pgettext_lazy("template variable", "KPP"),
    "company.ogrn": pgettext_lazy("template variable", "OGRN / OGRNIP"),
    "company.address": pgettext_lazy("template variable", "Address"),
    "company.phone": pgettext_lazy("template variable", "Phone"),
    "company.email": pgettext_lazy("template variable", "Email"),
    "company.bank_name": pgettext_lazy("template variable", "Payee's bank"),
    "company.bik": pgettext_lazy("template variable", "Bank BIC"),
    "company.correspondent_account": pgettext_lazy("template variable", "Bank's correspondent account"),
    "company.bank_account": pgettext_lazy("template variable", "Settlement account"),
    "company.director": pgettext_lazy("template variable", "Director (surname and initials)"),
    "company.accountant": pgettext_lazy("template variable", "Accountant (surname and initials)"),
    "missing_requisites": pgettext_lazy("template variable", "The requisites not filled in (their names in the "
                                                             "document's language)"),
}
CLIENT_AND_DEAL = {
    "client.name": pgettext_lazy("template variable", "Client (the deal's contact)"),
    "client.email": pgettext_lazy("template variable", "Client's email"),
    "client.phone": pgettext_lazy("template variable", "Client's phone"),
    "deal.lead_id": pgettext_lazy("template variable", "Deal number in the CRM"),
    "deal.service_name": pgettext_lazy("template variable", "The service as the client sees it (the field chosen in "
                                                            "the settings; not the deal's CRM title)"),
    "deal.name": pgettext_lazy("template variable", "The same as deal.service_name (the deal's CRM title is never "
                                                    "shown to the client)"),
    "deal.contract_number": pgettext_lazy("template variable", "Contract number («Д-2026-000001») or empty until the "
                                                               "contract is made"),
    "deal.group": pgettext_lazy("template variable", "Group (intake)"),
    "deal.education_direction": pgettext_lazy("template variable", "Field"),
    "deal.total": pgettext_lazy("template variable", "Plan total (Decimal)"),
    "deal.paid": pgettext_lazy("template variable", "Paid (Decimal)"),
    "deal.debt": pgettext_lazy("template variable", "Debt remaining (Decimal)"),
    "currency": pgettext_lazy("template variable", "Currency, e.g. RUB"),
    "today": pgettext_lazy("template variable", "Today (the date in the account's time zone)"),
    "language": pgettext_lazy("template variable", "The document's language: ru or en (the account's language "
                                                   "setting)"),
}
SCHEDULE = {
    "schedule": pgettext_lazy("template variable", "The schedule, or empty (none) if there is no plan yet"),
    "schedule.version": pgettext_lazy("template variable", "Schedule version"),
    "schedule.total": pgettext_lazy("template variable", "Schedule total"),
    "schedule.already_paid": pgettext_lazy("template variable", "Received before the schedule"),
    "schedule.paid": pgettext_lazy("template variable", "Paid in total"),
    "schedule.debt": pgettext_lazy("template variable", "Left to pay"),
    "schedule.installments_count": pgettext_lazy("template variable", "Number of payments"),
    "schedule.monthly_payment": pgettext_lazy("template variable", "Regular payment or none"),
    "schedule.last_due_date": pgettext_lazy("template variable", "Date of the last payment"),
    "schedule.installments": pgettext_lazy("template variable", "Lines: seq, due_date, kind, kind_label, label, "
                                                                "amount, paid, remaining, status, status_label, "
                                                                "principal, interest (of which interest)"),
    "schedule.interest_total": pgettext_lazy("template variable", "Interest over the whole term (0 if the schedule "
                                                                  "has no interest)"),
    "schedule.annual_rate": pgettext_lazy("template variable", "Rate, % per year, or none"),
    "schedule.effective_rate": pgettext_lazy("template variable", "Effective rate, % or none"),
}
VARIABLES: dict[str, dict] = {
    Kind.INVOICE: {
        **COMPANY, **CLIENT_AND_DEAL,
    "invoice.number": pgettext_lazy("template variable", "Invoice number"),
    "invoice.status": pgettext_lazy("template variable", "creating, issued, paid, cancelled, expired, failed"),
    "invoice.date": pgettext_lazy("template variable", "Invoice date"),
    "invoice.due_date": pgettext_lazy("template variable", "Pay by: the payment's due date, but no earlier than the "
                                                           "invoice date + 3 days"),
    "invoice.installment_due_date": pgettext_lazy("template variable", "The payment's due date in the schedule"),
    "invoice.amount": pgettext_lazy("template variable", "Amount (Decimal)"),
    "invoice.amount_words": pgettext_lazy("template variable", "Amount in words"),
    "invoice.payment_url": pgettext_lazy("template variable", "Payment link (CloudPayments)"),
    "invoice.sbp_url": pgettext_lazy("template variable", "SBP payment link for the QR code (YooKassa), or empty"),
    "invoice.vat_label": pgettext_lazy("template variable", "«No VAT» or «Including VAT 20%»"),
    "invoice.vat_amount": pgettext_lazy("template variable", "VAT amount or none"),
    "invoice.installment_seq": pgettext_lazy("template variable", "The payment's number in the schedule"),
    "invoice.installments_count": pgettext_lazy("template variable", "Payments in total"),
    "invoice.lines": pgettext_lazy("template variable", "Lines: n, title, quantity, unit, price, amount"),
    },
    Kind.RECEIPT: {
        **COMPANY, **CLIENT_AND_DEAL,
    "payment.number": pgettext_lazy("template variable", "Confirmation number"),
    "payment.date": pgettext_lazy("template variable", "Date received"),
    "payment.amount": pgettext_lazy("template variable", "Amount (Decimal)"),
    "payment.amount_words": pgettext_lazy("template variable", "Amount in words"),
    "payment.method": pgettext_lazy("template variable", "Method: cloudpayments, cash, bank_transfer, ..."),
    "payment.method_label": pgettext_lazy("template variable", "The method in words"),
    "payment.transaction_id": pgettext_lazy("template variable", "Transaction number or empty"),
    "payment.invoice_number": pgettext_lazy("template variable", "Invoice number or empty"),
    "payment.comment": pgettext_lazy("template variable", "Comment"),
    "payment.paid_total": pgettext_lazy("template variable", "Paid including this payment"),
    "payment.debt_after": pgettext_lazy("template variable", "Debt remaining after this payment"),
    },
    Kind.SCHEDULE: {**COMPANY, **CLIENT_AND_DEAL, **SCHEDULE},
    Kind.CONTRACT: {
        **COMPANY, **CLIENT_AND_DEAL, **SCHEDULE,
    "contract.number": pgettext_lazy("template variable", "Contract number"),
    "contract.date": pgettext_lazy("template variable", "Contract date"),
    "contract.city": pgettext_lazy("template variable", "City (from the organisation's address, or empty)"),
    },
    Kind.OFFER: {
        **COMPANY, **CLIENT_AND_DEAL, **SCHEDULE,
    "offer.number": pgettext_lazy("template variable", "Offer number"),
    "offer.date": pgettext_lazy("template variable", "Date"),
    "offer.valid_until": pgettext_lazy("template variable", "Valid until"),
    },
}
HELPERS = {
    "|money": pgettext_lazy("template variable", "25000 → «25 000,00» (English: «25,000.00»)"),
    "|amount_words": pgettext_lazy("template variable", "Amount in words: «Twenty-five thousand roubles 00 kopecks»"),
    "|date_long": pgettext_lazy("template variable", "«5 January 2027»"),
    "|date_short": pgettext_lazy("template variable", "«2027-01-05»"),
    "|currency_sign": pgettext_lazy("template variable", "RUB → «RUB»"),
    "|required": pgettext_lazy("template variable", "The value, or a red «not specified» mark"),
    "|plural(one, few, many)": pgettext_lazy("template variable", "5|plural('payment', 'payments', 'payments') → "
                                                                  "«payments»"),
    "_(text, name=value)": pgettext_lazy("template variable", "Words from the catalogue in the document's language: "
                                                              "_(\"Invoice No. %(number)s\", number=invoice.number)"),
    "qr_code(text)": pgettext_lazy("template variable", "QR code as a data: URI for <img>"),
    "range(n)": pgettext_lazy("template variable", "Numbers 0..n-1 (n ≤ 10 000)"),
}
