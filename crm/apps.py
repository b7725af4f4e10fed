"""Django app config of the CRM port and outbox (the adapters are apps of their own)."""
from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    label = "crm"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm import feed

        feed.register()  # billing's events → CRM actions, for every CRM kind
