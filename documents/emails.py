"""The emails that carry invoices and receipts to clients: text from the gettext catalogue in the account's
language (Russian by default), the PDF attached, a signed link."""
from email.headerregistry import Address
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.translation import gettext as _

from billing.client_links import client_page_url
from billing.models import Deal
from billing.texts import in_account_language
from documents.formatting import currency_sign, date_short, money_ru
from documents.kinds import Kind
from documents.links import document_link
from documents.selectors import DocumentSubject


def _sender(company: dict) -> tuple[str, list[str]]:
    """From: the company's name on our sending address; replies go to the company's own email."""
    default_name, address = parseaddr(settings.DOCUMENTS_EMAIL_FROM)
    sender = str(Address(display_name=company["name"] or default_name, addr_spec=address))
    return sender, [company["email"]] if company["email"] else []


def _greeting(client: dict) -> str:
    return _("Hello, %(name)s!") % {"name": client["name"]} if client["name"] else _("Hello!")


def _signature(company: dict) -> str:
    contacts = ", ".join(value for value in (company["phone"], company["email"]) if value)
    return "\n".join(line for line in ("--", company["name"], contacts) if line)


def _service(deal: dict) -> str:
    """«Оплата обучения по договору № Д-2026-000001»: the service as the account names it to clients."""
    if not deal["contract_number"]:
        return deal["service_name"]
    return _("%(service)s under contract No. %(contract)s") % {"service": deal["service_name"],
                                                               "contract": deal["contract_number"]}


def _money(amount, sign: str) -> str:
    return f"{money_ru(amount)} {sign}"


def _client_page_lines(subject: DocumentSubject) -> list[str]:
    """The client's own page (plan, pay buttons, documents): every invoice and receipt email carries it."""
    deal = None
    if subject.kind == Kind.INVOICE:
        deal = Deal.objects.filter(invoices__pk=subject.object_id, account=subject.account).first()
    elif subject.kind == Kind.RECEIPT:
        deal = Deal.objects.filter(payments__pk=subject.object_id, account=subject.account).first()
    return [_("Your payment plan, online payment and all documents:"), client_page_url(deal), ""] if deal else []


def invoice_text(subject: DocumentSubject, link: str) -> tuple[str, str]:
    variables = subject.variables
    invoice, company, sign = variables["invoice"], variables["company"], currency_sign(variables["currency"])
    values = {"number": invoice["number"], "amount": _money(invoice["amount"], sign),
              "date": date_short(invoice["date"]), "due": date_short(invoice["due_date"]),
              "seq": invoice["installment_seq"], "count": invoice["installments_count"],
              "service": _service(variables["deal"])}
    title = _("Invoice No. %(number)s for %(amount)s — pay by %(due)s") % values
    lines = [
        _greeting(variables["client"]), "",
        _("Invoice No. %(number)s of %(date)s for %(amount)s (payment %(seq)s of %(count)s: %(service)s).") % values,
        _("Pay by %(due)s.") % values, "",
    ]
    if invoice["payment_url"]:
        lines += [_("Pay by card or through the SBP:"), invoice["payment_url"], ""]
    lines += [_("The invoice is attached (PDF) and also at this link:"), link, "", *_client_page_lines(subject),
              _("If you have already paid this invoice, please ignore this email."), "", _signature(company)]
    return title, "\n".join(lines)


def receipt_text(subject: DocumentSubject, link: str) -> tuple[str, str]:
    variables = subject.variables
    payment, company, sign = variables["payment"], variables["company"], currency_sign(variables["currency"])
    values = {"amount": _money(payment["amount"], sign), "date": date_short(payment["date"]),
              "service": _service(variables["deal"]), "paid": _money(payment["paid_total"], sign),
              "left": _money(payment["debt_after"], sign)}
    title = _("Payment received: %(amount)s") % values
    remaining = (_("Left to pay under the contract: %(left)s.") % values if payment["debt_after"] > 0
                 else _("The contract is paid in full. Thank you!"))
    lines = [
        _greeting(variables["client"]), "",
        _("We have received your payment of %(amount)s of %(date)s (%(service)s).") % values,
        _("Paid in total: %(paid)s.") % values + " " + remaining, "",
        _("The payment confirmation is attached (PDF) and also at this link:"), link, "", *_client_page_lines(subject),
        _signature(company),
    ]
    return title, "\n".join(lines)


def document_message(*, subject: DocumentSubject, pdf: bytes) -> EmailMessage:
    link = document_link(account_id=subject.account.pk, kind=subject.kind, object_id=subject.object_id)
    with in_account_language(subject.account):  # the client reads the account's language, not a browser's
        title, body = (invoice_text if subject.kind == Kind.INVOICE else receipt_text)(subject, link)
    sender, reply_to = _sender(subject.variables["company"])
    message = EmailMessage(subject=title, body=body, from_email=sender, to=[subject.variables["client"]["email"]],
                           reply_to=reply_to)
    message.attach(subject.file_name, pdf, "application/pdf")
    return message


# ---- declined payments: plain emails with the link to pay, in the client's Russian (gettext) ----------

def money_sign(amount, currency: str) -> str:
    """«25 000,00 ₽»: the sum as documents print it, with the currency's sign."""
    return f"{money_ru(amount)}\u00a0{MONEY_SIGNS.get(currency, currency)}"


MONEY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€"}


def _declined_lines(reason: str, link: str) -> list[str]:
    lines = [_("Bank's reason: %(reason)s.") % {"reason": reason}, ""]
    if link:
        lines += [_("You can pay by card or through SBP here:"), link, ""]
    else:
        lines += [_("We will send you a link to pay shortly."), ""]
    return lines


def autopay_failed_text(*, client: dict, company: dict, deal: dict, amount: str, seq: int, last_four: str,
                        reason: str, link: str, card_stopped: bool) -> tuple[str, str]:
    """The saved card could not pay a line: why, in the bank's words made plain, and the link instead."""
    title = _("Autopay did not go through: %(amount)s") % {"amount": amount}
    lines = [
        _("Hello, %(name)s!") % {"name": client["name"]} if client["name"] else _("Hello!"), "",
        _("We could not charge payment %(seq)s of %(amount)s to your card *%(last_four)s (%(service)s).") % {
            "seq": seq, "amount": amount, "last_four": last_four, "service": _service(deal)}, "",
        *_declined_lines(reason, link),
    ]
    if card_stopped:
        lines += [_("Autopay with this card is switched off. When paying by the link you can save a new card "
                    "for autopay."), ""]
    lines += [_("If you have already paid, please ignore this email."), "", _signature(company)]
    return title, "\n".join(lines)


def payment_failed_text(*, client: dict, company: dict, deal: dict, amount: str, number: str, reason: str,
                        link: str) -> tuple[str, str]:
    """A card payment by the invoice link was declined: why, and the same link to try again."""
    title = _("Payment for invoice No. %(number)s did not go through") % {"number": number}
    lines = [
        _("Hello, %(name)s!") % {"name": client["name"]} if client["name"] else _("Hello!"), "",
        _("The payment of %(amount)s for invoice No. %(number)s (%(service)s) was declined.") % {
            "amount": amount, "number": number, "service": _service(deal)}, "",
        *_declined_lines(reason, link),
        _("If you have already paid, please ignore this email."), "", _signature(company),
    ]
    return title, "\n".join(lines)


def notice_message(*, company: dict, recipient: str, title: str, body: str, key: str) -> EmailMessage:
    sender, reply_to = _sender(company)
    return EmailMessage(subject=title, body=body, from_email=sender, to=[recipient], reply_to=reply_to,
                        headers={"X-PayPlan-Notice": key})
