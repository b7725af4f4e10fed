"""Test settings: the real PostgreSQL and Redis of this machine (see Makefile)."""
from config.settings.base import *  # noqa: F403
from config.settings.base import env

DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/payplan")}
DATABASES["default"]["TEST"] = {"NAME": env("PAYPLAN_TEST_DB_NAME", default="payplan_test")}
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/15")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PAYPLAN_FERNET_KEYS = ["bXZsS0ZrR3l0a0Q0cEJ0cGN0d2tTZ3BhRk1uZ1hqQ2E="]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PAYPLAN_PUBLIC_ORIGIN = "https://payplan.test"
AMOCRM_CLIENT_ID = "b3a1c2d4-5e6f-4a1b-9c8d-7e6f5a4b3c2d"
AMOCRM_CLIENT_SECRET = "test-amocrm-client-secret-of-32-bytes-or-more"
# Nothing in a test may reach past this machine: gateways default to a closed loopback port, and a
# test that needs one starts a sandbox and points the setting at it.
CLOUDPAYMENTS_API_URL = "http://127.0.0.1:9/"
CLOUDPAYMENTS_RETRIES = 0
CLOUDPAYMENTS_CONNECT_TIMEOUT = 2.0
CLOUDPAYMENTS_READ_TIMEOUT = 5.0
AMOCRM_OAUTH_URL = "http://127.0.0.1:9/oauth"
DUNNING_SMSRU_URL = DUNNING_WHATSAPP_URL = DUNNING_TELEGRAM_URL = "http://127.0.0.1:9"
DUNNING_HTTP_CONNECT_TIMEOUT = 1.0
DUNNING_HTTP_READ_TIMEOUT = 2.0
YOOKASSA_API_URL = "http://127.0.0.1:9/v3/"
YOOKASSA_RETRIES = 0
YOOKASSA_CONNECT_TIMEOUT = 2.0
YOOKASSA_READ_TIMEOUT = 5.0
# The loopback sandbox sends notifications from 127.0.0.1; tests of the allow-list set their own.
YOOKASSA_NOTIFICATION_NETWORKS = [*YOOKASSA_NOTIFICATION_NETWORKS, "127.0.0.1/32"]  # noqa: F405
