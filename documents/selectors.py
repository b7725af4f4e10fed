"""Reads: which template a document uses, the data it is made from, stored PDFs, client links."""
import functools
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext, pgettext

from billing.errors import NotFound
from billing.models import Account, Deal, Invoice, Payment
from billing.texts import in_account_language
from documents import contexts
from documents.kinds import DEAL_KINDS, Kind
from documents.links import document_link
from documents.models import DocumentTemplate, StoredDocument

DEFAULTS_DIR = Path(__file__).resolve().parent / "templates_default"

requisites_missing = contexts.requisites_missing


@functools.cache
def default_template_source(kind: str) -> str:
    return (DEFAULTS_DIR / f"{Kind(kind).value}.html").read_text(encoding="utf-8")


@dataclass(frozen=True)
class TemplateSource:
    kind: str
    source: str
    is_default: bool
    updated_at: object = None
    updated_by: int | None = None


def template_source_get(*, account: Account, kind: str) -> TemplateSource:
    own = DocumentTemplate.objects.filter(account=account, kind=kind).first()
    if own is None:
        return TemplateSource(kind, default_template_source(kind), True)
    return TemplateSource(kind, own.source, False, own.updated_at, own.updated_by)


@dataclass(frozen=True)
class DocumentSubject:
    """What one document is about: its data, its title and the file name the client sees."""

    account: Account
    kind: str
    object_id: int
    variables: dict
    title: str
    file_name: str
    rows: int  # schedule lines it prints: big ones are rendered by a worker, not in a request


def document_subject_get(*, account: Account, kind: str, object_id: int) -> DocumentSubject:
    """The document `kind` of the account's invoice, payment or deal `object_id`; 404 for any other account's
    (in the asker's language). Its data and title are in the account's language, whoever asks."""
    if kind == Kind.INVOICE:
        invoice = (Invoice.objects.select_related("deal__account", "installment", "account")
                   .filter(account=account, pk=object_id).first())
        if invoice is None:
            raise NotFound("invoice_not_found", gettext("Invoice %(id)s is not known for this "
                                                        "account.") % {"id": object_id})
        with in_account_language(account):
            return DocumentSubject(account, kind, object_id, contexts.invoice_variables(invoice),
                                   gettext("Invoice No. %(number)s") % {"number": invoice.number},
                                   f"invoice-{invoice.number}.pdf", 1)
    if kind == Kind.RECEIPT:
        payment = (Payment.objects.select_related("deal__account", "invoice", "account")
                   .filter(account=account, pk=object_id, amount__gt=0).first())
        if payment is None:
            raise NotFound("payment_not_found", gettext("Payment %(id)s is not known for this "
                                                        "account.") % {"id": object_id})
        with in_account_language(account):
            variables = contexts.receipt_variables(payment)
            number = variables["payment"]["number"]
            return DocumentSubject(account, kind, object_id, variables,
                                   gettext("Payment confirmation No. %(number)s") % {"number": number},
                                   f"receipt-{number}.pdf", 1)
    if kind in DEAL_KINDS:
        deal = Deal.objects.select_related("account").filter(account=account, pk=object_id).first()
        if deal is None:
            raise NotFound("deal_not_found", gettext("This deal is not known for this account."))
        with in_account_language(account):
            variables = contexts.deal_document_variables(deal, kind)
            # The contract goes by its own number; the printout and the offer by the deal.
            number = deal.contract_number if kind == Kind.CONTRACT and deal.contract_number else str(deal.external_id)
            title = pgettext("document title", "%(kind)s No. %(number)s") % {"kind": Kind(kind).label,
                                                                             "number": number}
        rows = len(variables["schedule"]["installments"]) if variables["schedule"] else 0
        return DocumentSubject(account, kind, object_id, variables, title, f"{kind}-{number}.pdf", rows)
    raise NotFound("document_kind_not_found", gettext("There is no such document."))


def stored_document_get(*, account: Account, kind: str, object_id: int) -> StoredDocument | None:
    return StoredDocument.objects.filter(account=account, kind=kind, object_id=object_id).first()


def invoice_pdf_url(invoice: Invoice) -> str:
    """The client's link to the invoice PDF: absolute, signed, no login. Valid before the PDF exists
    (the first request renders it), so the CRM note can carry it from the moment the invoice is issued."""
    return invoice_pdf_url_for(account_id=invoice.account_id, invoice_id=invoice.pk)


def invoice_pdf_url_for(*, account_id: int, invoice_id: int) -> str:
    return document_link(account_id=account_id, kind=Kind.INVOICE, object_id=invoice_id)


def receipt_pdf_url(payment: Payment) -> str:
    return document_link(account_id=payment.account_id, kind=Kind.RECEIPT, object_id=payment.pk)
