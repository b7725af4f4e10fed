from django.apps import AppConfig


class Bitrix24Config(AppConfig):
    name = "crm.bitrix24"
    label = "bitrix24"
    verbose_name = "Bitrix24"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm import port
        from crm.bitrix24.events import deal_changed
        from crm.bitrix24.outbox import Bitrix24Adapter, on_deal_changed, on_portal_installed
        from crm.bitrix24.portals import portal_installed

        port.adapter_register(Bitrix24Adapter())
        portal_installed.connect(on_portal_installed, dispatch_uid="bitrix24-outbox-resume")
        deal_changed.connect(on_deal_changed, dispatch_uid="bitrix24-deal-fetch")
