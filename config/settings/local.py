"""Local and demo settings: zero config, SQLite and a filesystem broker unless env vars say otherwise."""
from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Mail goes to the loopback SMTP sink `make run` starts (sandboxes.smtp on :8125).
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=8125)
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=5)
# Reminders by SMS / WhatsApp / Telegram go to the loopback messaging sandbox (sandboxes.messaging on :8103).
DUNNING_SMSRU_URL = env("DUNNING_SMSRU_URL", default="http://127.0.0.1:8103")
DUNNING_WHATSAPP_URL = env("DUNNING_WHATSAPP_URL", default="http://127.0.0.1:8103")
DUNNING_TELEGRAM_URL = env("DUNNING_TELEGRAM_URL", default="http://127.0.0.1:8103")
# The demo talks to the loopback CloudPayments sandbox that `make run` starts.
CLOUDPAYMENTS_API_URL = env("CLOUDPAYMENTS_API_URL", default="http://127.0.0.1:8101/")
# ... and installs through the loopback amoCRM sandbox's consent screen (`make run` starts it on :8102).
AMOCRM_OAUTH_URL = env("AMOCRM_OAUTH_URL", default="http://127.0.0.1:8102/oauth")
# ... and into the loopback Bitrix24 (sandboxes.bitrix24 on :8104: its authorization server and portal).
BITRIX24_OAUTH_URL = env("BITRIX24_OAUTH_URL", default="http://127.0.0.1:8104/oauth-server")
# The demo's YooKassa is the loopback sandbox `make run` starts on :8105 (sandboxes.yookassa); its
# notifications come from this machine, so loopback is on the allow-list here (never in production).
YOOKASSA_API_URL = env("YOOKASSA_API_URL", default="http://127.0.0.1:8105/v3/")
YOOKASSA_NOTIFICATION_NETWORKS = env.list("YOOKASSA_NOTIFICATION_NETWORKS",
                                          default=[*YOOKASSA_NOTIFICATION_NETWORKS, "127.0.0.1/32"])  # noqa: F405
