"""Django app config of dunning (label `dunning`: its own tables and migrations beside billing's)."""
from django.apps import AppConfig


class DunningConfig(AppConfig):
    name = "billing.dunning"
    label = "dunning"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Dunning"

    def ready(self) -> None:
        from billing.dunning.penalties import register

        register()
