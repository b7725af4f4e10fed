"""Django app config of the money core."""
from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from billing.services import autopay, invoice_sync, invoicing, receipts, recurring

        autopay.register()
        invoice_sync.register()
        invoicing.register()
        receipts.register()
        recurring.register()
