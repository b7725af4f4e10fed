"""Django app config of the widget's HTTP API and its auth."""
from django.apps import AppConfig


class WidgetApiConfig(AppConfig):
    name = "widget_api"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from widget_api import schema  # noqa: F401  (registers the OpenAPI field extensions)
