"""Django app config of the amoCRM adapter: registers its outbox adapter and its registrations handler."""
from django.apps import AppConfig


class AmocrmConfig(AppConfig):
    name = "crm.amocrm"
    label = "amocrm"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm import port
        from crm.amocrm import registrations
        from crm.amocrm.adapter import AmoCrmAdapter

        port.adapter_register(AmoCrmAdapter())
        registrations.register()
