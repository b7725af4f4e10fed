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


urlpatterns = [
    path("bench/bare/<str:account_key>/<str:kind>", bare_notification),
    *project_urlpatterns,
]
