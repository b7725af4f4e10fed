from django.apps import AppConfig


class Bitrix24Config(AppConfig):
    name = "crm.bitrix24"
    label = "bitrix24"
    verbose_name = "Bitrix24"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm import port
        from crm.bitrix24.outbox import Bitrix24Adapter

        port.adapter_register(Bitrix24Adapter())
