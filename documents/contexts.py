"""The documented variables of each document, read from billing as plain data (dicts, Decimal, date).

Templates see these dicts and nothing else: no model instance, no queryset, no settings object.
"""
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils.translation import get_language, gettext, gettext_lazy, pgettext, pgettext_lazy

from billing.client_links import client_page_url
from billing.domain.account_settings import invoicing_read
from billing.domain.money import ZERO, money
from billing.domain.schedule import DEFAULT_LABELS
from billing.models import Account, Deal, Installment, Invoice, Payment, Schedule
from billing.names import deal_service_name
from billing.selectors import deal_state_get
from billing.selectors.deals import DealState
from billing.services.sbp import sbp_available
from billing.time import account_today
from documents import formatting
from documents.kinds import Kind

# The requisites section of the account's settings (billing.domain.account_settings.REQUISITE_KEYS);
# director and chief accountant sign documents when present.
REQUISITE_LABELS = {
    "company_name": gettext_lazy("Company name"), "inn": pgettext_lazy("requisite", "TIN"),
    "kpp": pgettext_lazy("requisite", "KPP"), "ogrn": pgettext_lazy("requisite", "OGRN"),
    "address": pgettext_lazy("requisite", "Address"), "bank_name": pgettext_lazy("requisite", "Bank"),
    "bik": pgettext_lazy("requisite", "BIC"), "correspondent_account": pgettext_lazy("requisite", "Corr. account"),
    "bank_account": pgettext_lazy("requisite", "Settlement account"), "email": pgettext_lazy("requisite", "Email"),
    "phone": pgettext_lazy("requisite", "Phone"), "director": pgettext_lazy("requisite", "Director"),
    "accountant": pgettext_lazy("requisite", "Accountant"),
}
# What an invoice cannot be paid by bank transfer without; KPP only for organisations (10-digit INN).
REQUIRED_REQUISITES = ("company_name", "inn", "address", "bank_name", "bik", "correspondent_account",
                       "bank_account")
# What documents print, from the documents catalogue in the account's language (str() them when used).
KIND_LABELS = {"down_payment": pgettext_lazy("document line", "Down payment"),
               "regular": pgettext_lazy("document line", "Scheduled payment"),
               "extra": pgettext_lazy("document line", "Extra payment"),
               "fee": pgettext_lazy("document line", "Penalty")}
STATUS_LABELS = {"planned": pgettext_lazy("document line status", "Planned"),
                 "invoiced": pgettext_lazy("document line status", "Invoiced"),
                 "partially_paid": pgettext_lazy("document line status", "Partly paid"),
                 "paid": pgettext_lazy("document line status", "Paid"),
                 "overdue": pgettext_lazy("document line status", "Overdue"),
                 "cancelled": pgettext_lazy("document line status", "Cancelled")}
METHOD_LABELS = {"cloudpayments": pgettext_lazy("document payment method", "Online by card (CloudPayments)"),
                 "cash": pgettext_lazy("document payment method", "In cash"),
                 "bank_transfer": pgettext_lazy("document payment method", "By bank transfer"),
                 "card_terminal": pgettext_lazy("document payment method", "By card at a terminal"),
                 "card_token": pgettext_lazy("document payment method", "Autopay from a saved card"),
                 "opening_balance": pgettext_lazy("document payment method", "Received before the schedule"),
                 "other": pgettext_lazy("document payment method", "In another way")}
PAYOUT_STATUS_LABELS = {**STATUS_LABELS, "paid": pgettext_lazy("document payout status", "Paid out"),
                        "partially_paid": pgettext_lazy("document payout status", "Partly paid out")}
PLAN_LABELS = {"equal": pgettext_lazy("document plan", "in equal instalments"),
               "full": pgettext_lazy("document plan", "in one payment"),
               "custom": pgettext_lazy("document plan", "on an individual schedule"),
               "annuity": pgettext_lazy("document plan", "in annuity payments"),
               "differentiated": pgettext_lazy("document plan", "in differentiated payments")}
# CloudKassir VAT codes (Account.settings["receipts"]["vat"]) → the rate the invoice shows.
VAT_RATES = {0: 0, 5: 5, 7: 7, 10: 10, 20: 20, 22: 22, 105: 5, 107: 7, 110: 10, 120: 20, 122: 22}


def requisites_missing(account: Account) -> list[str]:
    """The requisite keys an invoice needs that the account has not filled in."""
    stored = account.settings.get("requisites") or {}
    required = list(REQUIRED_REQUISITES)
    if len(str(stored.get("inn") or "").strip()) != 12:  # an organisation, not a sole trader: it has a KPP
        required.insert(2, "kpp")
    return [key for key in required if not str(stored.get(key) or "").strip()]


def company_variables(account: Account) -> dict:
    stored = account.settings.get("requisites") or {}
    company = {key: str(stored.get(key) or "").strip() for key in REQUISITE_LABELS}
    company["name"] = company.pop("company_name")
    return company


def common_variables(deal: Deal) -> dict:
    """`deal.name` is the service name too: the lead's CRM title is a manager's note and never reaches a
    client, not even through an account's old template that still prints `deal.name`."""
    account = deal.account
    service = deal_service_name(deal)
    return {
        "company": company_variables(account),
        "missing_requisites": [str(REQUISITE_LABELS[key]) for key in requisites_missing(account)],
        "client": {"name": deal.contact_name, "email": deal.contact_email, "phone": deal.contact_phone},
        "deal": {"lead_id": deal.external_id, "name": service, "service_name": service,
                 "contract_number": deal.contract_number, "group": deal.group,
                 "education_direction": deal.education_direction, "total": deal.total, "paid": deal.paid,
                 "debt": deal.debt},
        "currency": account.currency,
        "today": account_today(account),
        "language": document_language(),
    }


def document_language() -> str:
    """The language the document is made in ("ru" or "en"): the active one, which documents.services sets
    to the account's (billing.texts.in_account_language)."""
    return "en" if (get_language() or "ru").startswith("en") else "ru"


def _local_date(account: Account, moment) -> date | None:
    return moment.astimezone(ZoneInfo(account.time_zone)).date() if moment else None


def _vat(account: Account, amount: Decimal) -> tuple[str, Decimal | None]:
    code = (account.settings.get("receipts") or {}).get("vat")
    rate = VAT_RATES.get(code) if code is not None else None
    if not rate:
        return (gettext("No VAT") if rate is None else gettext("VAT 0%")), None
    return gettext("Including VAT %(rate)s%%") % {"rate": rate}, money(amount * rate / (100 + rate))


def line_label(kind: str, label: str) -> str:
    """The line's own label (a state fee, say) unless it is the schedule engine's English default."""
    return label if label and label not in DEFAULT_LABELS.values() else str(KIND_LABELS.get(kind, label))


def invoice_line_title(*, service_name: str, contract_number: str, kind: str, label: str, seq: int,
                       count: int) -> str:
    """"Оплата обучения по договору № Д-2026-000001: платёж 2 из 6 по графику"."""
    subject = service_name
    if contract_number:
        subject = pgettext("invoice line", "%(service)s under contract No. %(number)s") % {
            "service": service_name, "number": contract_number}
    if kind == "regular":
        return pgettext("invoice line", "%(subject)s: payment %(seq)s of %(count)s under the schedule") % {
            "subject": subject, "seq": seq, "count": count}
    words = line_label(kind, label)
    return f"{subject}: {words[:1].lower()}{words[1:]}"


def service_unit() -> str:
    """The unit of an invoice line: «усл.» (a service)."""
    return pgettext("invoice line unit", "svc")


def invoice_pay_by(*, due_date: date, issued_on: date, grace_days: int) -> date:
    """The invoice's «Оплатить не позднее»: the line's due date, or `grace_days` after issue if that is later."""
    grace_end = issued_on + timedelta(days=grace_days)
    return grace_end if grace_end > due_date else due_date


def invoice_grace_days(account: Account) -> int:
    return invoicing_read(account.settings).grace_days


def invoice_sbp_url(invoice: Invoice) -> str:
    """[K] What the invoice's SBP QR opens: its SBP payment page when made, else our stable link that makes it
    on the first scan (client_portal invoice_sbp); "" when the account offers no SBP or the invoice is closed."""
    if invoice.status != Invoice.Status.ISSUED or not sbp_available(invoice.account):
        return ""
    return invoice.sbp_url or f"{client_page_url(invoice.deal)}/invoices/{invoice.pk}/sbp"


def invoice_variables(invoice: Invoice) -> dict:
    deal, installment, account = invoice.deal, invoice.installment, invoice.account
    count = Installment.objects.filter(schedule_id=installment.schedule_id).count()
    title = invoice_line_title(service_name=deal_service_name(deal), contract_number=deal.contract_number,
                               kind=installment.kind,
                               label=installment.label, seq=installment.seq, count=count)
    vat_label, vat_amount = _vat(account, invoice.amount)
    issued_on = _local_date(account, invoice.issued_at or invoice.created_at)
    return {
        **common_variables(deal),
        "invoice": {
            "number": invoice.number, "status": invoice.status,
            "date": issued_on,
            "due_date": invoice_pay_by(due_date=installment.due_date, issued_on=issued_on,
                                       grace_days=invoice_grace_days(account)),
            "installment_due_date": installment.due_date, "amount": invoice.amount,
            "amount_words": formatting.amount_in_words(invoice.amount, account.currency),
            "payment_url": invoice.payment_url, "vat_label": vat_label, "vat_amount": vat_amount,
            "sbp_url": invoice_sbp_url(invoice),
            "installment_seq": installment.seq, "installments_count": count,
            "lines": [{"n": 1, "title": title, "quantity": 1, "unit": service_unit(), "price": invoice.amount,
                       "amount": invoice.amount}],
        },
    }


def receipt_variables(payment: Payment) -> dict:
    deal, account = payment.deal, payment.account
    schedule = Schedule.objects.filter(deal=deal, is_active=True).first()
    paid_total = sum(Payment.objects.filter(deal=deal, pk__lte=payment.pk).values_list("amount", flat=True), ZERO)
    plan_total = schedule.total if schedule else deal.total
    return {
        **common_variables(deal),
        "payment": {
            "number": f"{payment.paid_at:%Y}-{payment.pk:06d}", "date": payment.paid_at, "amount": payment.amount,
            "amount_words": formatting.amount_in_words(payment.amount, account.currency),
            "method": payment.method, "method_label": str(METHOD_LABELS.get(payment.method, payment.method)),
            "transaction_id": payment.transaction_id or "",
            "invoice_number": payment.invoice.number if payment.invoice_id else "",
            "comment": payment.comment, "paid_total": paid_total,
            "debt_after": max(plan_total - paid_total, ZERO),
        },
    }


def schedule_variables(deal_state: DealState, plan: str = "") -> dict | None:
    """The active plan's lines; paid and debt are the deal's (payments, credit included)."""
    state = deal_state.schedule
    if state is None:
        return None
    status_labels = PAYOUT_STATUS_LABELS if state.direction == "outgoing" else STATUS_LABELS
    rows = [{
        "seq": line.seq, "due_date": line.due_date, "kind": line.kind,
        "kind_label": str(KIND_LABELS.get(line.kind, line.kind)), "label": line_label(line.kind, line.label),
        "amount": line.amount, "paid": line.paid, "remaining": line.amount - line.paid,
        "status": line.status, "status_label": str(status_labels.get(line.status, line.status)),
        "interest": line.interest, "principal": line.amount - line.interest,
    } for line in state.installments]
    request = state.request or {}
    return {
        "version": state.version, "plan": plan, "plan_label": str(PLAN_LABELS.get(plan, "")),
        "direction": state.direction, "total": state.total, "already_paid": state.already_paid,
        "paid": deal_state.paid, "debt": deal_state.debt,
        "installments_count": state.installments_count, "monthly_payment": state.monthly_payment,
        "last_due_date": state.last_due_date, "installments": rows,
        # Interest plans: the interest in the lines (zero otherwise), the nominal and the effective rate.
        "interest_total": state.interest_total, "effective_rate": state.effective_rate,
        "annual_rate": Decimal(str(request["annual_rate"])) if request.get("annual_rate") and state.interest_total
        else None,
    }


def deal_document_variables(deal: Deal, kind: str) -> dict:
    """The schedule printout, contract and commercial offer: the deal with its active plan."""
    state = deal_state_get(deal=deal)
    schedule = Schedule.objects.filter(deal=deal, is_active=True).only("plan", "created_at").first()
    variables = {**common_variables(deal),
                 "schedule": schedule_variables(state, schedule.plan if schedule else "")}
    variables["deal"] |= {"total": state.total, "paid": state.paid, "debt": state.debt}
    today = variables["today"]
    if kind == Kind.CONTRACT:
        signed = _local_date(deal.account, schedule.created_at) if schedule else today
        address = variables["company"]["address"]
        variables["contract"] = {"number": deal.contract_number, "date": signed, "city": city_from_address(address)}
    elif kind == Kind.OFFER:
        variables["offer"] = {"number": f"{deal.external_id}-{today:%y%m%d}", "date": today,
                              "valid_until": today + timedelta(days=14)}
    return variables


def city_from_address(address: str) -> str:
    """"г. Москва, ул. ..." → "г. Москва": the city line of a contract's heading (an English address:
    "…, London, …" has no marker, so the contract leaves the city blank to fill in)."""
    for part in address.split(","):
        part = part.strip()
        if part.startswith(("г.", "г ", "город ", "City of ")):
            return part
    return ""
