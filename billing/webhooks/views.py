"""The CloudPayments notification endpoint: bytes in, the contract's {"code": N} out."""
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.gateway.cloudpayments_notifications import KINDS, notification_receive
from billing.models import Account
from billing.services.webhooks import gateway_notification_receive
from billing.webhooks.answers import webhook_answer


def _not_found(message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": "not_found", "message": message, "fields": {}}}, status=404)


@csrf_exempt
@require_POST
def cloudpayments_notification(request, account_key: str, kind: str):
    if kind not in KINDS:
        return _not_found(f"Unknown notification kind {kind!r}.")
    account = Account.objects.filter(webhook_key=account_key, is_active=True).first()
    if account is None:
        return _not_found("Unknown account key.")
    received = notification_receive(
        secret=account.cloudpayments_api_secret, kind=kind, raw_body=request.body,
        content_type=request.content_type or "", content_hmac=request.headers.get("Content-HMAC"),
        x_content_hmac=request.headers.get("X-Content-HMAC"))
    answer = webhook_answer(gateway_notification_receive(account=account, received=received))
    return JsonResponse(answer.body, status=answer.http_status)
