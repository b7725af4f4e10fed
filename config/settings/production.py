"""Production settings: everything that matters must come from the environment."""
from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = False
PAYPLAN_DEMO = env.bool("PAYPLAN_DEMO", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY")
PAYPLAN_FERNET_KEYS = env.list("PAYPLAN_FERNET_KEYS")
AMOCRM_CLIENT_ID = env("AMOCRM_CLIENT_ID")
AMOCRM_CLIENT_SECRET = env("AMOCRM_CLIENT_SECRET")
PAYPLAN_PUBLIC_ORIGIN = env("PAYPLAN_PUBLIC_ORIGIN")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
