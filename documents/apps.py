"""Django app config of document rendering."""
from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"
