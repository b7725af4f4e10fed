"""Celery tasks of documents: thin, id-based, safe to run twice."""
import logging
import smtplib

from celery import shared_task

from billing.models import Account
from documents.kinds import Kind
from documents.services import document_deliver, document_render

logger = logging.getLogger(__name__)


@shared_task(name="documents.render")
def render_document(account_id: int, kind: str, object_id: int) -> None:
    document_render(account=Account.objects.get(pk=account_id), kind=kind, object_id=object_id)


@shared_task(name="documents.deliver", bind=True, max_retries=8)
def deliver_document(self, account_id: int, kind: str, object_id: int) -> None:
    """Store and email an invoice or receipt; a mail server that is down is retried, nothing is sent twice."""
    try:
        document_deliver(account=Account.objects.get(pk=account_id), kind=Kind(kind), object_id=object_id)
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("%s %s: email failed, retrying: %s", kind, object_id, exc)
        raise self.retry(exc=exc, countdown=min(60 * 2**self.request.retries, 3600)) from exc
