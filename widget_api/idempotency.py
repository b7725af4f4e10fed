"""Idempotency-Key: the same key and body get the first answer again; another body gets 409.

The key's record lives in its own short transactions, never around the work: it is inserted as
"in progress" and committed, the handler runs outside any wrapping transaction (its services commit
their own steps, and the ones that call a gateway commit before calling), and the answer is stored in
another short transaction. A concurrent repeat waits a moment for the answer and replays it, or gets
409 `request_in_progress`; it never runs the work a second time. A handler that fails unexpectedly
releases the key, so a retry runs the work again (every service behind a key is safe to run twice).
"""
import hashlib
import json
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from billing.errors import ApplicationError
from billing.models import Account, IdempotencyRecord
from billing.transactions import assert_no_transaction
from widget_api.errors import error_body

MAX_KEY_LENGTH = 255
IN_PROGRESS = 0  # response_status of a record whose request has not answered yet
POLL_SECONDS = 0.05


def request_fingerprint(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, cls=DjangoJSONEncoder, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _answer(handler: Callable[[], Response]) -> Response:
    try:
        return handler()
    except ApplicationError as exc:
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status)


def idempotent(request: Request, *, account: Account, handler: Callable[[], Response]) -> Response:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return handler()
    if len(key) > MAX_KEY_LENGTH:
        message = gettext("Idempotency-Key is longer than %(limit)s characters.") % {"limit": MAX_KEY_LENGTH}
        raise ApplicationError("invalid_idempotency_key", message, {"Idempotency-Key": [gettext("Too long.")]},
                               status=400)
    assert_no_transaction()
    fingerprint = request_fingerprint(request)
    record = _claim(account=account, key=key, fingerprint=fingerprint)
    if record is None:
        return _replay(account=account, key=key, fingerprint=fingerprint)
    try:
        response = _answer(handler)
    except BaseException:
        IdempotencyRecord.objects.filter(pk=record.pk, response_status=IN_PROGRESS).delete()
        raise
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        response_status=response.status_code, response_body=JSONRenderer().render(response.data).decode())
    return response


def _claim(*, account: Account, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """Insert the key's record as in progress and commit it; None when the key is already taken.

    A record left in progress longer than the lease belongs to a request that died mid-way: it is
    taken over (same body only), so the key is not blocked until it expires.
    """
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(account=account, key=key, request_fingerprint=fingerprint,
                                                    response_status=IN_PROGRESS, response_body="")
    except IntegrityError:
        pass
    now = timezone.now()
    abandoned_before = now - timedelta(seconds=settings.IDEMPOTENCY_IN_PROGRESS_LEASE_SECONDS)
    taken_over = IdempotencyRecord.objects.filter(
        account=account, key=key, request_fingerprint=fingerprint, response_status=IN_PROGRESS,
        created_at__lt=abandoned_before).update(created_at=now)
    return IdempotencyRecord.objects.get(account=account, key=key) if taken_over else None


def _replay(*, account: Account, key: str, fingerprint: str) -> HttpResponse:
    deadline = time.monotonic() + settings.IDEMPOTENCY_IN_PROGRESS_WAIT_SECONDS
    while True:
        record = IdempotencyRecord.objects.filter(account=account, key=key).first()
        if record is None:
            # The first request failed and released the key between our insert and this read.
            raise ApplicationError("request_in_progress",
                                   gettext("A request with this Idempotency-Key has just failed; send it again."),
                                   status=409)
        if record.request_fingerprint != fingerprint:
            raise ApplicationError("idempotency_key_reused",
                                   gettext("This Idempotency-Key was already used with another request body."),
                                   status=409)
        if record.response_status != IN_PROGRESS:
            break
        if time.monotonic() >= deadline:
            raise ApplicationError(
                "request_in_progress",
                gettext("A request with this Idempotency-Key is still running; repeat it in a few seconds."),
                status=409)
        time.sleep(POLL_SECONDS)
    response = HttpResponse(record.response_body, status=record.response_status, content_type="application/json")
    response["Idempotent-Replayed"] = "true"
    return response
