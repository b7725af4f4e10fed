"""Client routes of documents (/documents/...)."""
from django.urls import path

from documents.views import document_link_view

urlpatterns = [
    path("<str:token>", document_link_view, name="document-link"),
]
