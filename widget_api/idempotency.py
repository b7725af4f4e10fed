"""Idempotency-Key: the same key and body get the first answer again; another body gets 409.

The key's row is inserted before the write runs, so a concurrent repeat blocks on the unique
index until the first commits, then replays its answer instead of doing the work twice.
"""
import hashlib
import json
from collections.abc import Callable

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from billing.errors import ApplicationError
from billing.models import Account, IdempotencyRecord
from widget_api.errors import error_body

MAX_KEY_LENGTH = 255


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
        raise ApplicationError("invalid_idempotency_key", f"Idempotency-Key is longer than {MAX_KEY_LENGTH}.",
                               {"Idempotency-Key": ["Too long."]}, status=400)
    fingerprint = request_fingerprint(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    account=account, key=key, request_fingerprint=fingerprint, response_status=0,
                    response_body="")
        except IntegrityError:
            return _replay(account=account, key=key, fingerprint=fingerprint)
        response = _answer(handler)
        record.response_status = response.status_code
        record.response_body = JSONRenderer().render(response.data).decode()
        record.save(update_fields=["response_status", "response_body"])
        return response


def _replay(*, account: Account, key: str, fingerprint: str) -> HttpResponse:
    record = IdempotencyRecord.objects.get(account=account, key=key)
    if record.request_fingerprint != fingerprint:
        raise ApplicationError("idempotency_key_reused",
                               "This Idempotency-Key was already used with another request body.",
                               status=409)
    response = HttpResponse(record.response_body, status=record.response_status,
                            content_type="application/json")
    response["Idempotent-Replayed"] = "true"
    return response
