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

# --- HTTPS only -----------------------------------------------------------------------------------
# TLS ends at the proxy in front of gunicorn, which must set X-Forwarded-Proto (and strip a client's).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the load balancer's probe speaks plain http inside
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = [PAYPLAN_PUBLIC_ORIGIN]
# PAYPLAN_CONTENT_SECURITY_POLICY (base settings) is set on every HTML page by
# widget_api.security.ContentSecurityPolicyMiddleware.

EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
