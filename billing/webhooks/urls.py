"""Routes for gateway notifications."""
from django.urls import path

from billing.webhooks.views import cloudpayments_notification, yookassa_notification

urlpatterns = [
    path("cloudpayments/<str:account_key>/<str:kind>", cloudpayments_notification, name="cloudpayments-webhook"),
    path("yookassa/<str:account_key>", yookassa_notification, name="yookassa-webhook"),
]
