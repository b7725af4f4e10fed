"""The emails that carry invoices and receipts to clients: Russian text, the PDF attached, a signed link."""
from email.headerregistry import Address
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage

from billing.client_links import client_page_url
from billing.models import Deal
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
    return f"Здравствуйте, {client['name']}!" if client["name"] else "Здравствуйте!"


def _signature(company: dict) -> str:
    contacts = ", ".join(value for value in (company["phone"], company["email"]) if value)
    return "\n".join(line for line in ("--", company["name"], contacts) if line)


def _service(deal: dict) -> str:
    """«Оплата обучения по договору № Д-2026-000001»: the service as the account names it to clients."""
    contract = f" по договору № {deal['contract_number']}" if deal["contract_number"] else ""
    return f"{deal['service_name']}{contract}"


def _client_page_lines(subject: DocumentSubject) -> list[str]:
    """The client's own page (plan, pay buttons, documents): every invoice and receipt email carries it."""
    deal = None
    if subject.kind == Kind.INVOICE:
        deal = Deal.objects.filter(invoices__pk=subject.object_id, account=subject.account).first()
    elif subject.kind == Kind.RECEIPT:
        deal = Deal.objects.filter(payments__pk=subject.object_id, account=subject.account).first()
    return ["Ваш график платежей, оплата онлайн и все документы:", client_page_url(deal), ""] if deal else []


def invoice_text(subject: DocumentSubject, link: str) -> tuple[str, str]:
    variables = subject.variables
    invoice, company, sign = variables["invoice"], variables["company"], currency_sign(variables["currency"])
    due = date_short(invoice["due_date"])
    title = f"Счёт № {invoice['number']} на {money_ru(invoice['amount'])} {sign} — оплатить до {due}"
    lines = [
        _greeting(variables["client"]), "",
        f"Выставлен счёт № {invoice['number']} от {date_short(invoice['date'])} на сумму "
        f"{money_ru(invoice['amount'])} {sign} (платёж {invoice['installment_seq']} из "
        f"{invoice['installments_count']}: {_service(variables['deal'])}).",
        f"Оплатить до {date_short(invoice['due_date'])}.", "",
    ]
    if invoice["payment_url"]:
        lines += ["Оплатить картой или через СБП:", invoice["payment_url"], ""]
    lines += ["Счёт — во вложении (PDF), а также по ссылке:", link, "", *_client_page_lines(subject),
              "Если вы уже оплатили этот счёт, просто не обращайте внимания на письмо.", "", _signature(company)]
    return title, "\n".join(lines)


def receipt_text(subject: DocumentSubject, link: str) -> tuple[str, str]:
    variables = subject.variables
    payment, company, sign = variables["payment"], variables["company"], currency_sign(variables["currency"])
    title = f"Оплата получена: {money_ru(payment['amount'])} {sign}"
    remaining = (f"Остаток по договору: {money_ru(payment['debt_after'])} {sign}." if payment["debt_after"] > 0
                 else "Договор оплачен полностью. Спасибо!")
    lines = [
        _greeting(variables["client"]), "",
        f"Мы получили ваш платёж {money_ru(payment['amount'])} {sign} от {date_short(payment['date'])} "
        f"({_service(variables['deal'])}).",
        f"Оплачено всего: {money_ru(payment['paid_total'])} {sign}. {remaining}", "",
        "Подтверждение оплаты — во вложении (PDF), а также по ссылке:", link, "", *_client_page_lines(subject),
        _signature(company),
    ]
    return title, "\n".join(lines)


def document_message(*, subject: DocumentSubject, pdf: bytes) -> EmailMessage:
    link = document_link(account_id=subject.account.pk, kind=subject.kind, object_id=subject.object_id)
    title, body = (invoice_text if subject.kind == Kind.INVOICE else receipt_text)(subject, link)
    sender, reply_to = _sender(subject.variables["company"])
    message = EmailMessage(subject=title, body=body, from_email=sender, to=[subject.variables["client"]["email"]],
                           reply_to=reply_to)
    message.attach(subject.file_name, pdf, "application/pdf")
    return message
