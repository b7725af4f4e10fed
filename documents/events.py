"""Billing's committed events turned into documents: an issued invoice is rendered and emailed, a
recorded payment gets its receipt. Only after commit: nothing is sent for a rolled-back change."""
import logging

from billing.events import INVOICE_ISSUED, PAYMENT_RECORDED, event_committed
from billing.models import DomainEvent, Payment
from documents.kinds import Kind

logger = logging.getLogger(__name__)

# Money the client did not send us now (an opening balance typed into the plan) gets no receipt.
NO_RECEIPT_METHODS = {Payment.Method.OPENING_BALANCE}


def on_event_committed(sender: str, event: DomainEvent, **kwargs) -> None:
    from documents.tasks import deliver_document

    try:
        if sender == INVOICE_ISSUED:
            deliver_document.delay(event.account_id, Kind.INVOICE.value, event.payload["invoice_id"])
        elif sender == PAYMENT_RECORDED and _client_paid_us(event):
            deliver_document.delay(event.account_id, Kind.RECEIPT.value, event.payload["payment_id"])
    except Exception:
        # The money is committed already: a document that cannot be queued (broker down, or a failing
        # eager task) is logged for a retry by hand, never turned into an error for the payment's caller.
        logger.exception("%s %s: the document could not be queued", sender, event.pk)


def _client_paid_us(event: DomainEvent) -> bool:
    """Receipts go to clients who paid: not for opening balances, refunds or our own payouts."""
    if event.payload.get("method") in NO_RECEIPT_METHODS:
        return False
    return Payment.objects.filter(pk=event.payload["payment_id"], deal__direction="incoming", amount__gt=0).exists()


def register() -> None:
    # The signal's sender is the event's name (a str): receive them all and pick by value.
    event_committed.connect(on_event_committed, dispatch_uid="documents.on_event_committed")
