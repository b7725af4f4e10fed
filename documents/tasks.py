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


@shared_task(name="documents.deliver", max_retries=8, autoretry_for=(smtplib.SMTPException, OSError),
             retry_backoff=60, retry_backoff_max=3600, retry_jitter=False)
def deliver_document(account_id: int, kind: str, object_id: int) -> None:
    """Store and email an invoice or receipt; a mail server that is down is retried (Celery's autoretry:
    60 s doubling, at most an hour apart, 8 times), nothing is sent twice."""
    document_deliver(account=Account.objects.get(pk=account_id), kind=Kind(kind), object_id=object_id)
