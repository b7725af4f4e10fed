"""amoCRM-facing routes (/amocrm/...)."""
from django.urls import path

from crm.amocrm import views

urlpatterns = [
    path("oauth/callback", views.oauth_callback, name="amocrm-oauth-callback"),
    path("install", views.install_start, name="amocrm-install"),
    path("oauth/revoked", views.access_revoked, name="amocrm-access-revoked"),
    path("webhooks/<str:account_key>", views.lead_hooks, name="amocrm-webhooks"),
]
