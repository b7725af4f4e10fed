"""Signed client links to documents: /documents/<token>, no login, expiring (django.core.signing)."""
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "payplan.documents.link"


@dataclass(frozen=True)
class LinkTarget:
    account_id: int
    kind: str
    object_id: int


def document_link(*, account_id: int, kind: str, object_id: int) -> str:
    token = signing.dumps([account_id, str(kind), object_id], salt=SALT, compress=True)
    return settings.PAYPLAN_PUBLIC_ORIGIN.rstrip("/") + reverse("document-link", kwargs={"token": token})


def document_link_read(token: str) -> LinkTarget | None:
    """The document a token names, or None when it is forged, altered or older than the allowed age."""
    max_age = settings.DOCUMENTS_LINK_MAX_AGE_DAYS * 86400
    try:
        account_id, kind, object_id = signing.loads(token, salt=SALT, max_age=max_age)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return LinkTarget(int(account_id), str(kind), int(object_id))
