"""Local and demo settings: zero config, SQLite and a filesystem broker unless env vars say otherwise."""
from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# The demo talks to the loopback CloudPayments sandbox that `make run` starts.
CLOUDPAYMENTS_API_URL = env("CLOUDPAYMENTS_API_URL", default="http://127.0.0.1:8101/")
# ... and installs through the loopback amoCRM sandbox's consent screen (`make run` starts it on :8102).
AMOCRM_OAUTH_URL = env("AMOCRM_OAUTH_URL", default="http://127.0.0.1:8102/oauth")
