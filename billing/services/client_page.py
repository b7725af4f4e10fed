"""What the client does on their page (/p/<token>): pay the next line or everything, correct their contact
details; and what the manager does to the page link (a new link revokes the old ones)."""
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from billing.errors import ApplicationError
from billing.events import CLIENT_CONTACT_CHANGED, publish
from billing.gateway.interface import Gateway
from billing.models import Deal, Installment
from billing.services.deals import deal_lock
from billing.services.invoicing import InvoiceIssued, invoice_issue, invoice_issue_remainder
from billing.transactions import assert_no_transaction

PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()\-]{5,30}$")


@transaction.atomic
def client_link_rotate(*, deal: Deal) -> Deal:
    """«Новая ссылка»: every link given out before stops working at once."""
    deal = deal_lock(deal=deal)
    Deal.objects.filter(pk=deal.pk).update(client_link_version=F("client_link_version") + 1)
    deal.refresh_from_db(fields=["client_link_version"])
    return deal


def client_invoice_next(*, deal: Deal, gateway: Gateway | None = None) -> InvoiceIssued:
    """«Оплатить следующий платёж»: the live invoice of the oldest unpaid line, issued now if there is none."""
    assert_no_transaction()
    line = (Installment.objects.filter(schedule__deal=deal, schedule__is_active=True, paid__lt=F("amount"))
            .order_by("due_date", "seq").first())
    if line is None:
        raise ApplicationError("nothing_to_pay", _("Nothing is left to pay."))
    return invoice_issue(installment_id=line.pk, gateway=gateway)


def client_invoice_all(*, deal: Deal, gateway: Gateway | None = None) -> InvoiceIssued:
    """«Оплатить всё»: one invoice for the whole remaining debt (reused while the debt is the same)."""
    return invoice_issue_remainder(deal_id=deal.pk, gateway=gateway)


@dataclass(frozen=True)
class ContactInput:
    name: str
    phone: str
    email: str


def contact_validate(contact: ContactInput) -> ContactInput:
    """Trimmed values, or ApplicationError naming each field at fault (messages are shown to the client)."""
    name, phone, email = contact.name.strip(), contact.phone.strip(), contact.email.strip().lower()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 255:
        errors["name"] = [_("Enter your name.")]
    if not PHONE_RE.match(phone):
        errors["phone"] = [_("Enter a phone number, e.g. +7 900 123-45-67.")]
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = [_("Enter an email address, e.g. ivan@example.ru.")]
    if errors:
        raise ApplicationError("invalid_contact", _("Please check your contact details."), errors)
    return ContactInput(name=name, phone=phone, email=email)


@transaction.atomic
def client_contact_update(*, deal: Deal, contact: ContactInput) -> Deal:
    """The client's corrected name, phone and email: stored on the deal (invoices and receipts go there) and
    sent to the CRM contact by the relay. Unchanged values change nothing and send nothing."""
    contact = contact_validate(contact)
    deal = deal_lock(deal=deal)
    before = {"name": deal.contact_name, "phone": deal.contact_phone, "email": deal.contact_email}
    after = {"name": contact.name, "phone": contact.phone, "email": contact.email}
    if before == after:
        return deal
    deal.contact_name, deal.contact_phone, deal.contact_email = contact.name, contact.phone, contact.email
    deal.save(update_fields=["contact_name", "contact_phone", "contact_email", "updated_at"])
    publish(account=deal.account, name=CLIENT_CONTACT_CHANGED, payload={
        "deal_id": deal.pk, "external_id": deal.external_id, "contact": after, "before": before})
    return deal
