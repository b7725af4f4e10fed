"""The client's side: a document behind a signed link, no login (the link is the permission)."""
from django.http import HttpResponse
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_GET

from billing.errors import ApplicationError
from billing.models import Account
from billing.texts import in_account_language
from documents.links import document_link_read
from documents.services import DocumentFile, document_pdf_fetch

PAGE = """<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">{head}<title>{title}</title>
<style>body{{font-family:sans-serif;max-width:32em;margin:15vh auto;padding:0 1em;color:#222}}</style></head>
<body><h1>{title}</h1><p>{text}</p></body></html>"""


def _page(status: int, title: str, text: str, head: str = "") -> HttpResponse:
    return HttpResponse(PAGE.format(title=title, text=text, head=head, lang=get_language() or "ru"), status=status,
                        content_type="text/html; charset=utf-8")


@require_GET
def document_link_view(request, token: str):
    """The client reads the account's language (Russian by default), not whatever their browser says."""
    target = document_link_read(token)
    account = Account.objects.filter(pk=target.account_id, is_active=True).first() if target else None
    with in_account_language(account):
        return _document_answer(account, target)


def _document_answer(account: Account | None, target) -> HttpResponse:
    if account is None:
        return _page(404, gettext("The link does not work"), gettext(
            "The link to the document has expired or was mistyped. Ask your manager to send a new one."))
    try:
        document = document_pdf_fetch(account=account, kind=target.kind, object_id=target.object_id,
                                      fallback_to_default=True)
    except ApplicationError:
        return _page(404, gettext("Document not found"),
                     gettext("This document no longer exists. Ask your manager to send a new one."))
    if not isinstance(document, DocumentFile):
        return _page(202, gettext("The document is being prepared"), gettext(
            "A big document is still being made: the page will refresh itself in a few seconds."),
            head=f'<meta http-equiv="refresh" content="{document.retry_after}">')
    response = HttpResponse(document.content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{document.file_name}"'
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex"
    return response
