"""Billing's domain events turned into documents, as event-relay handlers (after commit, retried, never
lost): an issued invoice is rendered and emailed, a recorded payment gets its receipt. The DocumentEmail
row per (document, kind) is the durable mark: a sent or skipped email is never sent again."""
import logging

from billing.events import INVOICE_ISSUED, PAYMENT_RECORDED, DeliveryNotYet, register_handler
from billing.models import ChargeAttempt, DomainEvent, Payment
from documents.kinds import Kind
from documents.models import DocumentEmail
from documents.services import document_deliver

logger = logging.getLogger(__name__)

# Money the client did not send us now (an opening balance typed into the plan) gets no receipt.
NO_RECEIPT_METHODS = {Payment.Method.OPENING_BALANCE}


def on_event(event: DomainEvent) -> None:
    """Relay handler `documents.deliver`."""
    if event.name == INVOICE_ISSUED and not _autopay_fallback(event):
        _deliver(event, Kind.INVOICE, event.payload["invoice_id"])
    elif event.name == PAYMENT_RECORDED and _client_paid_us(event):
        _deliver(event, Kind.RECEIPT, event.payload["payment_id"])


def _deliver(event: DomainEvent, kind: Kind, object_id: int) -> None:
    """Render and email; an SMTP failure raises for the relay's retry. An email another worker is
    sending right now is looked at again later, not taken as delivered."""
    email = document_deliver(account=event.account, kind=kind, object_id=object_id)
    if email.status == DocumentEmail.Status.SENDING:
        raise DeliveryNotYet(f"{kind} {object_id}: the email is being sent by another worker")


def _autopay_fallback(event: DomainEvent) -> bool:
    """The link of a line the saved card could not pay goes in the autopay failure email (documents.notices),
    which says why: the client gets one email, not two."""
    return ChargeAttempt.objects.filter(invoice_id=event.payload["invoice_id"]).exists()


def _client_paid_us(event: DomainEvent) -> bool:
    """Receipts go to clients who paid: not for opening balances, refunds or our own payouts."""
    if event.payload.get("method") in NO_RECEIPT_METHODS:
        return False
    return Payment.objects.filter(pk=event.payload["payment_id"], deal__direction="incoming", amount__gt=0).exists()


def register() -> None:
    register_handler(INVOICE_ISSUED, "documents.deliver", on_event)
    register_handler(PAYMENT_RECORDED, "documents.deliver", on_event)
