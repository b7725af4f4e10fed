from django.apps import AppConfig


class Bitrix24Config(AppConfig):
    name = "crm.bitrix24"
    label = "bitrix24"
    verbose_name = "Bitrix24"
    default_auto_field = "django.db.models.BigAutoField"
