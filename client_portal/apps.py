"""Django app config of the client's own pages: the plan page (/p/<token>) and the registration form."""
from django.apps import AppConfig


class ClientPortalConfig(AppConfig):
    name = "client_portal"
    default_auto_field = "django.db.models.BigAutoField"
