"""Gateway notification endpoints: CloudPayments (bytes in, {"code": N} out) and YooKassa (JSON in, 200 out)."""
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.gateway.cloudpayments_notifications import KINDS, notification_receive
from billing.gateway.notifications import Outcome
from billing.models import Account
from billing.services.pay_hot_path import account_by_webhook_key
from billing.services.webhooks import gateway_notification_receive
from billing.services.yookassa_webhooks import yookassa_notification_receive, yookassa_source_address
from billing.webhooks.answers import webhook_answer


def _not_found(message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": "not_found", "message": message, "fields": {}}}, status=404)


@csrf_exempt
@require_POST
def cloudpayments_notification(request, account_key: str, kind: str):
    if kind not in KINDS:
        return _not_found(f"Unknown notification kind {kind!r}.")
    account = account_by_webhook_key(account_key)  # the Pay hot path's prepared read
    if account is None:
        return _not_found("Unknown account key.")
    received = notification_receive(
        secret=account.cloudpayments_api_secret, kind=kind, raw_body=request.body,
        content_type=request.content_type or "", content_hmac=request.headers.get("Content-HMAC"),
        x_content_hmac=request.headers.get("X-Content-HMAC"))
    answer = webhook_answer(gateway_notification_receive(account=account, received=received))
    return JsonResponse(answer.body, status=answer.http_status)


# What YooKassa hears: 200 stops its retries (processed, a duplicate, or money that matched no invoice and
# waits for an operator); a refusal is 4xx; "could not check now" is 503, so it delivers again.
YOOKASSA_STATUSES = {Outcome.ACCEPTED: 200, Outcome.UNMATCHED: 200, Outcome.CHECK_REFUSED: 200,
                     Outcome.INVALID: 400, Outcome.NOT_CONNECTED: 401, Outcome.REJECTED_SIGNATURE: 403}
YOOKASSA_CODES = {400: "invalid_notification", 401: "yookassa_not_connected", 403: "notification_not_confirmed",
                  503: "processing_failed"}


@csrf_exempt
@require_POST
def yookassa_notification(request, account_key: str):
    account = Account.objects.filter(webhook_key=account_key, is_active=True).first()
    if account is None:
        return _not_found("Unknown account key.")
    source = yookassa_source_address(remote_addr=request.META.get("REMOTE_ADDR"),
                                     forwarded_for=request.headers.get("X-Forwarded-For"))
    outcome = yookassa_notification_receive(account=account, raw_body=request.body, source_ip=source).effective
    status = YOOKASSA_STATUSES.get(outcome.outcome, 503)
    if status == 200:
        return JsonResponse({"ok": True})
    return JsonResponse({"error": {"code": YOOKASSA_CODES[status], "message": outcome.message, "fields": {}}},
                        status=status)
