"""Routes of dunning: client answer pages and the Telegram bot webhook."""
from django.urls import path

from billing.dunning.views import answer_paid, answer_postpone, telegram_webhook

urlpatterns = [
    path("r/<str:token>/paid", answer_paid, name="dunning-answer-paid"),
    path("r/<str:token>/postpone", answer_postpone, name="dunning-answer-postpone"),
    path("dunning/telegram/<str:account_key>", telegram_webhook, name="dunning-telegram-webhook"),
]
