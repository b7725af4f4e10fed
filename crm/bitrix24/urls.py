"""Bitrix24-facing routes (/bitrix24/...)."""
from django.urls import path

from crm.bitrix24 import views

urlpatterns = [
    path("install/", views.install, name="bitrix24-install"),
    path("events/", views.events, name="bitrix24-events"),
    path("frame/", views.frame, name="bitrix24-frame"),
    path("token/", views.token_renew, name="bitrix24-token"),
    path("widget/<path:path>", views.widget_file, name="bitrix24-widget-file"),
]
