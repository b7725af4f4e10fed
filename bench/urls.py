"""The project's URLs plus the baseline: a bare Django view that answers {"code": 0}."""
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from config.urls import urlpatterns as project_urlpatterns


@csrf_exempt
@require_POST
def bare_notification(request, account_key: str, kind: str):
    request.body  # noqa: B018 - read the body, as the real endpoint must
    return JsonResponse({"code": 0})


@csrf_exempt
@require_POST
def store_only_notification(request, account_key: str, kind: str):
    """A floor for any durable webhook: look the account up and store the raw body, nothing else."""
    from billing.models import Account, GatewayEvent

    account = Account.objects.get(webhook_key=account_key)
    GatewayEvent.objects.create(account=account, kind="bench", transaction_id="", raw_body=request.body,
                                signature_valid=False, status=GatewayEvent.Status.REJECTED)
    return JsonResponse({"code": 0})


urlpatterns = [
    path("bench/bare/<str:account_key>/<str:kind>", bare_notification),
    path("bench/store/<str:account_key>/<str:kind>", store_only_notification),
    *project_urlpatterns,
]
