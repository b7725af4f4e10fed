"""Django app config of document rendering."""
from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from documents import events, notices

        events.register()
        notices.register()
