"""Top-level routes: widget API, OpenAPI, health, demo."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from widget_api.health import healthz

urlpatterns = [
    path("api/v1/", include("widget_api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's init script as a file, so the CSP needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("healthz", healthz, name="healthz"),
    path("webhooks/", include("billing.webhooks.urls")),
    path("amocrm/", include("crm.amocrm.urls")),
    path("bitrix24/", include("crm.bitrix24.urls")),
    path("demo/", include("widget_api.demo.urls")),
    path("documents/", include("documents.urls")),
    path("", include("billing.dunning.urls")),
    path("", include("client_portal.urls")),
]

handler400 = "widget_api.errors.json_bad_request"
handler403 = "widget_api.errors.json_forbidden"
handler404 = "widget_api.errors.json_not_found"
handler500 = "widget_api.errors.json_server_error"
