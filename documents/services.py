"""Writes of documents: accounts' templates, PDFs rendered into storage, documents emailed to clients."""
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language, gettext, gettext_lazy

from billing.errors import ApplicationError
from billing.jobs import job_enqueue
from billing.models import Account
from billing.services.contracts import contract_number_assign
from billing.texts import in_account_language
from billing.transactions import assert_no_transaction
from documents import emails
from documents.isolation import ChildLimits
from documents.kinds import Kind
from documents.models import DocumentEmail, DocumentTemplate, StoredDocument
from documents.pdf import RenderedPdf
from documents.rendering import document_fingerprint, document_pdf, request_limits, worker_limits
from documents.safe_render import TemplateProblem
from documents.samples import sample_variables
from documents.selectors import (
    DocumentSubject,
    default_template_source,
    document_subject_get,
    stored_document_get,
    template_source_get,
)

logger = logging.getLogger(__name__)

EMAIL_LEASE = timedelta(minutes=10)  # a "sending" claim older than this was lost with its worker
RENDER_CLAIM_SECONDS = 15 * 60  # a 10 000-line printout takes about a minute; a lost task is retried after this


def render_claim_key(account_id: int, kind: str, object_id: int, fingerprint: str) -> str:
    return f"payplan:documents:rendering:{account_id}:{kind}:{object_id}:{fingerprint[:16]}"


# What a manager reads for each refusal of a template; the engine's own (English) detail is kept for English.
PROBLEM_WORDS = {
    "template_syntax_error": gettext_lazy("The template has a syntax error."),
    "template_forbidden": gettext_lazy("The template uses something templates may not use."),
    "template_undefined": gettext_lazy("The template uses a variable that is not documented."),
    "template_external_url": gettext_lazy("Templates may not load anything from outside; use data: URIs for "
                                          "images."),
    "template_too_large": gettext_lazy("The template is too long."),
    "template_too_heavy": gettext_lazy("The template is too heavy to render."),
    "template_error": gettext_lazy("The document could not be rendered."),
}


def _problem(exc: TemplateProblem) -> ApplicationError:
    """«Строка 3: в шаблоне синтаксическая ошибка.» — the line, and the reason in the manager's language."""
    message = exc.message
    if not (get_language() or "").startswith("en") and exc.code in PROBLEM_WORDS and not _translated(message):
        message = str(PROBLEM_WORDS[exc.code])
    if exc.line:
        message = gettext("Line %(line)s: %(problem)s") % {"line": exc.line, "problem": message}
    return ApplicationError(exc.code, message, {"source": [message]})


def _translated(message: str) -> bool:
    """The rendering limits already come from the catalogue (documents.rendering); Jinja's own do not."""
    return any("\u0400" <= char <= "\u04ff" for char in message)


def template_preview(*, account: Account, kind: str, source: str | None = None) -> RenderedPdf:
    """The PDF of `source` (or the account's current template) for sample data and the real requisites.
    Anything a template may not do (syntax, undocumented variables, internals, URLs) is a 422 with the line."""
    source = template_source_get(account=account, kind=kind).source if source is None else source
    try:
        with in_account_language(account):  # the preview reads as the account's clients will read it
            return document_pdf(source=source, variables=sample_variables(account=account, kind=kind),
                                title=gettext("%(title)s (sample)") % {"title": Kind(kind).label}, strict_urls=True)
    except TemplateProblem as exc:
        raise _problem(exc) from exc


def template_save(*, account: Account, kind: str, source: str, updated_by: int | None) -> DocumentTemplate:
    """Check the template against sample data first (outside any transaction: it renders a PDF), then store it."""
    template_preview(account=account, kind=kind, source=source)
    with transaction.atomic():
        template, _ = DocumentTemplate.objects.update_or_create(
            account=account, kind=kind, defaults={"source": source, "updated_by": updated_by})
    return template


@transaction.atomic
def template_reset(*, account: Account, kind: str) -> None:
    """Back to the default template."""
    DocumentTemplate.objects.filter(account=account, kind=kind).delete()


@dataclass(frozen=True)
class DocumentFile:
    content: bytes
    file_name: str
    title: str


@dataclass(frozen=True)
class DocumentQueued:
    """Too big to make inside a request: a worker renders it; ask again in a few seconds."""

    retry_after: int


def document_pdf_fetch(*, account: Account, kind: str, object_id: int, fallback_to_default: bool = False,
                       ) -> DocumentFile | DocumentQueued:
    """The stored PDF when it is up to date; otherwise rendered now, or by a worker when it is big.
    Documents are made in the account's language, whoever asks (billing.texts.in_account_language)."""
    _numbers_assign(account=account, kind=kind, object_id=object_id)
    subject = document_subject_get(account=account, kind=kind, object_id=object_id)
    with in_account_language(account):
        return _document_pdf_fetch(subject, fallback_to_default=fallback_to_default)


def _document_pdf_fetch(subject: DocumentSubject, *, fallback_to_default: bool) -> DocumentFile | DocumentQueued:
    account, kind, object_id = subject.account, subject.kind, subject.object_id
    source = template_source_get(account=account, kind=kind).source
    fingerprint = document_fingerprint(kind=kind, source=source, variables=subject.variables)
    stored = stored_document_get(account=account, kind=kind, object_id=object_id)
    if stored is not None and stored.fingerprint == fingerprint:
        content = _read(stored.file_name)
        if content is not None:
            return DocumentFile(content, subject.file_name, subject.title)
    if subject.rows > settings.DOCUMENTS_SYNC_MAX_ROWS:
        # One worker per version of a big document, however often the client asks meanwhile.
        if cache.add(render_claim_key(account.pk, kind, object_id, fingerprint), 1, timeout=RENDER_CLAIM_SECONDS):
            _enqueue_render(account_id=account.pk, kind=kind, object_id=object_id)
        return DocumentQueued(retry_after=max(5, subject.rows // 200))
    rendered = _render_and_store(subject, source, fingerprint, fallback_to_default, request_limits())
    return DocumentFile(rendered.content, subject.file_name, subject.title)


def document_render(*, account: Account, kind: str, object_id: int) -> StoredDocument | None:
    """Render into storage unless the stored PDF is up to date (a worker's job; safe to run twice), under
    the worker's render limits. A broken account template falls back to the default: the client still
    gets a document."""
    _numbers_assign(account=account, kind=kind, object_id=object_id)
    subject = document_subject_get(account=account, kind=kind, object_id=object_id)
    with in_account_language(account):
        source = template_source_get(account=account, kind=kind).source
        fingerprint = document_fingerprint(kind=kind, source=source, variables=subject.variables)
        stored = stored_document_get(account=account, kind=kind, object_id=object_id)
        if stored is not None and stored.fingerprint == fingerprint and _storage().exists(stored.file_name):
            return stored
        _render_and_store(subject, source, fingerprint, True, worker_limits())
    return stored_document_get(account=account, kind=kind, object_id=object_id)


def _numbers_assign(*, account: Account, kind: str, object_id: int) -> None:
    """A contract gets its number the first time it is made, before its data is read (its own transaction)."""
    if kind == Kind.CONTRACT:
        contract_number_assign(account=account, deal_id=object_id)


def _render_and_store(subject: DocumentSubject, source: str, fingerprint: str, fallback_to_default: bool,
                      limits: ChildLimits) -> RenderedPdf:
    try:
        rendered = document_pdf(source=source, variables=subject.variables, title=subject.title, limits=limits)
    except TemplateProblem as exc:
        default = default_template_source(subject.kind)
        if not fallback_to_default or source == default:
            raise _problem(exc) from exc
        logger.warning("account %s: its %s template fails (%s); the default one is used",
                       subject.account.pk, subject.kind, exc)
        rendered = document_pdf(source=default, variables=subject.variables, title=subject.title, limits=limits)
    if rendered.refused_urls:
        logger.warning("account %s %s %s: refused to fetch %s", subject.account.pk, subject.kind,
                       subject.object_id, ", ".join(rendered.refused_urls))
    _store(subject, fingerprint, rendered)
    return rendered


def _storage():
    return storages["documents"]


def _read(file_name: str) -> bytes | None:
    try:
        with _storage().open(file_name, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, OSError):
        return None


def _store(subject: DocumentSubject, fingerprint: str, rendered: RenderedPdf) -> StoredDocument:
    """The file first, then the row pointing at it; the file it replaces is removed after commit."""
    storage = _storage()
    name = f"{subject.account.pk}/{subject.kind}/{subject.object_id}-{fingerprint[:20]}.pdf"
    if not storage.exists(name):
        name = storage.save(name, ContentFile(rendered.content))
    with transaction.atomic():
        previous = (StoredDocument.objects.select_for_update()
                    .filter(account=subject.account, kind=subject.kind, object_id=subject.object_id).first())
        stored, _ = StoredDocument.objects.update_or_create(
            account=subject.account, kind=subject.kind, object_id=subject.object_id,
            defaults={"fingerprint": fingerprint, "file_name": name, "size": len(rendered.content),
                      "pages": rendered.pages})
        if previous is not None and previous.file_name != name:
            old_name = previous.file_name
            transaction.on_commit(lambda: storage.delete(old_name), robust=True)
    return stored


def _enqueue_render(*, account_id: int, kind: str, object_id: int) -> None:
    transaction.on_commit(lambda: job_enqueue("documents.render", account_id, kind, object_id), robust=True)


@transaction.atomic
def _email_claim(*, account: Account, kind: str, object_id: int, recipient: str) -> DocumentEmail | None:
    """The email row, claimed for sending by this worker, or None when it was sent, skipped, or is being
    sent by another worker right now."""
    email, _ = DocumentEmail.objects.get_or_create(account=account, kind=kind, object_id=object_id,
                                                   defaults={"recipient": recipient})
    email = DocumentEmail.objects.select_for_update().get(pk=email.pk)
    if email.status in (DocumentEmail.Status.SENT, DocumentEmail.Status.SKIPPED):
        return None
    now = timezone.now()
    if email.status == DocumentEmail.Status.SENDING and email.claimed_at and now - email.claimed_at < EMAIL_LEASE:
        return None
    email.recipient, email.claimed_at = recipient, now
    if not recipient:
        email.status, email.error = DocumentEmail.Status.SKIPPED, "The deal has no client email."
        email.save()
        return None
    email.status, email.error = DocumentEmail.Status.SENDING, ""
    email.attempts += 1
    email.save()
    return email


def document_deliver(*, account: Account, kind: str, object_id: int) -> DocumentEmail:
    """What follows an issued invoice or a recorded payment: the PDF into storage, then to the client."""
    document_render(account=account, kind=kind, object_id=object_id)
    return document_email_send(account=account, kind=kind, object_id=object_id)


def document_email_send(*, account: Account, kind: str, object_id: int) -> DocumentEmail:
    """Email an invoice or a receipt to the deal's client, with the PDF attached, once.
    A failure is recorded and raised, so the task retries it."""
    if kind not in (Kind.INVOICE, Kind.RECEIPT):
        raise ValueError(f"{kind} documents are not emailed")
    assert_no_transaction()
    subject = document_subject_get(account=account, kind=kind, object_id=object_id)
    recipient = subject.variables["client"]["email"]
    claim = _email_claim(account=account, kind=kind, object_id=object_id, recipient=recipient)
    if claim is None:
        return DocumentEmail.objects.get(account=account, kind=kind, object_id=object_id)
    try:
        document = document_pdf_fetch(account=account, kind=kind, object_id=object_id, fallback_to_default=True)
        message = emails.document_message(subject=subject, pdf=document.content)
        message.send(fail_silently=False)
    except Exception as exc:
        DocumentEmail.objects.filter(pk=claim.pk).update(status=DocumentEmail.Status.FAILED,
                                                         error=f"{type(exc).__name__}: {exc}"[:255])
        raise
    DocumentEmail.objects.filter(pk=claim.pk).update(status=DocumentEmail.Status.SENT, sent_at=timezone.now(),
                                                     error="")
    claim.refresh_from_db()
    return claim
