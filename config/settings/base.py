"""Settings shared by every environment; every value comes from the environment with a safe local default."""
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="payplan-local-insecure-secret-key-change-me-in-production")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "billing",
    "billing.dunning",
    "widget_api",
    "crm",
    "crm.amocrm",
    "documents",
    "client_portal",
    "crm.bitrix24",
]

MIDDLEWARE = [
    # CORS first, so the widget can read even the early refusals of the next one.
    "corsheaders.middleware.CorsMiddleware",
    # Refuses NUL in path/query/headers and oversized bodies (413) before anything reads them.
    "widget_api.middleware.HostileInputMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The widget's browser sends Accept-Language: validation messages come back in the manager's language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "widget_api.security.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'payplan.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The zero-config demo runs web and worker on one file: wait for the write lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "ru"  # Russian first: ru unless the widget asks for en (Accept-Language)
LANGUAGES = [("en", "English"), ("ru", "Русский")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = env.path("PAYPLAN_MEDIA_ROOT", default=VAR_DIR / "media")

# --- Redis, Celery -------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {}
    if CELERY_BROKER_URL != "filesystem://"
    else {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {
    # A tick that waited past its period (workers down) is dropped: the next one does the latest due work
    # once, never a queued burst of ticks [I].
    "billing-tick": {"task": "billing.tick", "schedule": env.float("PAYPLAN_BILLING_TICK_SECONDS", default=300.0),
                     "options": {"expires": env.float("PAYPLAN_BILLING_TICK_SECONDS", default=300.0)}},
    "purge-idempotency-records": {"task": "billing.purge_idempotency_records", "schedule": 3600.0},
    # Stored deal statuses follow the calendar (active -> overdue) within this long of each account's midnight.
    "refresh-deal-statuses": {"task": "billing.refresh_deal_statuses",
                              "schedule": env.float("PAYPLAN_DEAL_STATUS_TICK_SECONDS", default=900.0)},
}

# The tick's invoices (billing.services.invoice_batches): due lines per transaction, gateway calls at once.
PAYPLAN_TICK_CHUNK_LINES = env.int("PAYPLAN_TICK_CHUNK_LINES", default=200)
PAYPLAN_TICK_GATEWAY_THREADS = env.int("PAYPLAN_TICK_GATEWAY_THREADS", default=4)

# --- The event relay (billing.services.relay): every after-commit effect is a delivery row it runs ----
# The tick finds what a lost on-commit nudge (broker down at commit) left behind.
PAYPLAN_EVENTS_RELAY_SECONDS = env.float("PAYPLAN_EVENTS_RELAY_SECONDS", default=5.0)
PAYPLAN_EVENTS_RELAY_BUDGET_SECONDS = env.float("PAYPLAN_EVENTS_RELAY_BUDGET_SECONDS", default=50.0)
PAYPLAN_EVENTS_BATCH = env.int("PAYPLAN_EVENTS_BATCH", default=10)
PAYPLAN_EVENTS_LEASE_SECONDS = env.int("PAYPLAN_EVENTS_LEASE_SECONDS", default=300)
PAYPLAN_EVENTS_MAX_ATTEMPTS = env.int("PAYPLAN_EVENTS_MAX_ATTEMPTS", default=10)
PAYPLAN_EVENTS_BACKOFF_SECONDS = env.float("PAYPLAN_EVENTS_BACKOFF_SECONDS", default=10.0)
PAYPLAN_EVENTS_BACKOFF_MAX_SECONDS = env.float("PAYPLAN_EVENTS_BACKOFF_MAX_SECONDS", default=3600.0)
CELERY_BEAT_SCHEDULE["events-relay"] = {
    "task": "billing.events_relay", "schedule": PAYPLAN_EVENTS_RELAY_SECONDS,
    # A tick that waited longer than its own period is stale: the next one does the same job.
    "options": {"expires": PAYPLAN_EVENTS_RELAY_SECONDS},
}

# --- Analytics rollup [I] (billing.services.analytics_rollup): stale deals folded into the day totals ----
# Readers recount unfolded deals live: the period bounds how much they recount, not whether figures are right.
PAYPLAN_ANALYTICS_FOLD_SECONDS = env.float("PAYPLAN_ANALYTICS_FOLD_SECONDS", default=30.0)
PAYPLAN_ANALYTICS_FOLD_BATCH = env.int("PAYPLAN_ANALYTICS_FOLD_BATCH", default=5000)
CELERY_BEAT_SCHEDULE["analytics-fold"] = {
    "task": "billing.analytics_fold", "schedule": PAYPLAN_ANALYTICS_FOLD_SECONDS,
    "options": {"expires": PAYPLAN_ANALYTICS_FOLD_SECONDS},
}

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- DRF, OpenAPI, CORS --------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["widget_api.auth.AmoDisposableTokenAuthentication",
                                       "widget_api.auth.Bitrix24FrameTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["widget_api.auth.IsWidgetUser"],
    "DEFAULT_PARSER_CLASSES": ["widget_api.parsers.DecimalJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "widget_api.errors.contract_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PayPlan widget API",
    "DESCRIPTION": (
        "The HTTP contract of PayPlan (shared/contracts/widget-api.md). Every error has the ErrorEnvelope "
        "body. Text anywhere (JSON strings and keys, query, headers) must not hold NUL or lone surrogates "
        "(400 invalid_text); JSON bodies nest at most 32 levels (400 malformed_json); bodies over 2.5 MB are "
        "413 payload_too_large."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "amoDisposableToken": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}
        }
    },
    "SECURITY": [{"amoDisposableToken": []}],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "widget_api.schema.error_responses_hook",
    ],
}
CORS_ALLOWED_ORIGIN_REGEXES = [
    r"^https://[a-z0-9-]+\.amocrm\.ru$",
    r"^https://[a-z0-9-]+\.amocrm\.com$",
    r"^https://[a-z0-9-]+\.kommo\.com$",
]
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = ["x-auth-token", "idempotency-key", "content-type", "accept", "if-none-match"]
# The widget downloads PDFs and Excel files cross-origin and names them from this header.
CORS_EXPOSE_HEADERS = ["Content-Disposition", "Idempotent-Replayed", "ETag"]

# Request bodies: 2.5 MB (Django's default) everywhere but amoCRM's account hooks, whose bulk form
# (thousands of leads, tens of thousands of fields) their view parses itself with a bounded parser.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
PAYPLAN_HOOK_MAX_BYTES = env.int("PAYPLAN_HOOK_MAX_BYTES", default=32 * 1024 * 1024)
PAYPLAN_HOOK_MAX_FIELDS = env.int("PAYPLAN_HOOK_MAX_FIELDS", default=500_000)

# --- PayPlan ------------------------------------------------------------------------------------
# The Content-Security-Policy of our HTML pages (install results, demo, document links, /api/docs).
# Scripts only from our origin (the demo's vendored libraries; Swagger UI from drf-spectacular-sidecar,
# its init script a file too); inline styles allowed: the install pages carry a <style> block and
# Swagger UI sets style attributes.
PAYPLAN_CONTENT_SECURITY_POLICY = env("PAYPLAN_CONTENT_SECURITY_POLICY", default=(
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"))
PAYPLAN_PUBLIC_ORIGIN = env("PAYPLAN_PUBLIC_ORIGIN", default="http://127.0.0.1:8000")
# The CRM a new account is created for unless its installer says (crm.port: "amocrm", "bitrix24").
PAYPLAN_DEFAULT_CRM_KIND = env("PAYPLAN_DEFAULT_CRM_KIND", default="amocrm")
# A new account's host unless its installer says (the default CRM's address of the account).
PAYPLAN_ACCOUNT_HOST_TEMPLATE = env("PAYPLAN_ACCOUNT_HOST_TEMPLATE", default="{slug}.amocrm.ru")
# Fernet keys (comma-separated, newest first) that encrypt secrets at rest; rotate by prepending.
PAYPLAN_FERNET_KEYS = env.list("PAYPLAN_FERNET_KEYS", default=[])
AMOCRM_CLIENT_ID = env("AMOCRM_CLIENT_ID", default="00000000-0000-4000-8000-000000000001")
AMOCRM_CLIENT_SECRET = env("AMOCRM_CLIENT_SECRET", default="payplan-local-amocrm-client-secret")
AMOCRM_TOKEN_LEEWAY_SECONDS = env.int("AMOCRM_TOKEN_LEEWAY_SECONDS", default=30)
# amoCRM's disposable tokens live 30 minutes; a longer-lived one is refused (accepted only in demo mode).
AMOCRM_TOKEN_MAX_LIFETIME_SECONDS = env.int("AMOCRM_TOKEN_MAX_LIFETIME_SECONDS", default=1800)
CLOUDPAYMENTS_API_URL = env("CLOUDPAYMENTS_API_URL", default="https://api.cloudpayments.ru/")
CLOUDPAYMENTS_CONNECT_TIMEOUT = env.float("CLOUDPAYMENTS_CONNECT_TIMEOUT", default=10.0)
CLOUDPAYMENTS_READ_TIMEOUT = env.float("CLOUDPAYMENTS_READ_TIMEOUT", default=60.0)
CLOUDPAYMENTS_RETRIES = env.int("CLOUDPAYMENTS_RETRIES", default=3)
CLOUDPAYMENTS_BACKOFF = env.float("CLOUDPAYMENTS_BACKOFF", default=0.5)
# CloudPayments remembers an X-Request-ID for one hour; past that a "creating" invoice is reconciled.
CLOUDPAYMENTS_REQUEST_ID_TTL_MINUTES = env.int("CLOUDPAYMENTS_REQUEST_ID_TTL_MINUTES", default=55)
# YooKassa (contracts/yookassa.md): API v3, timeouts, bounded retries with the same Idempotence-Key.
YOOKASSA_API_URL = env("YOOKASSA_API_URL", default="https://api.yookassa.ru/v3/")
YOOKASSA_CONNECT_TIMEOUT = env.float("YOOKASSA_CONNECT_TIMEOUT", default=10.0)
YOOKASSA_READ_TIMEOUT = env.float("YOOKASSA_READ_TIMEOUT", default=60.0)
YOOKASSA_RETRIES = env.int("YOOKASSA_RETRIES", default=3)
YOOKASSA_BACKOFF = env.float("YOOKASSA_BACKOFF", default=0.5)
# Where YooKassa's HTTP notifications come from (its SDK's SecurityHelper, 3.13.0). A notification from
# elsewhere is stored and refused; one from here is still trusted only after the object is re-read from the API.
YOOKASSA_NOTIFICATION_NETWORKS = env.list("YOOKASSA_NOTIFICATION_NETWORKS", default=[
    "185.71.76.0/27", "185.71.77.0/27", "77.75.153.0/25", "77.75.154.128/25", "77.75.156.11/32",
    "77.75.156.35/32", "2a02:5180:0:1509::/64", "2a02:5180:0:1533::/64", "2a02:5180:0:2655::/64",
    "2a02:5180:0:2669::/64"])
# Behind our own reverse proxy: the client address is the last X-Forwarded-For hop it appended.
YOOKASSA_TRUST_FORWARDED_FOR = env.bool("YOOKASSA_TRUST_FORWARDED_FOR", default=False)
# Demo mode: the /demo/ page and its token minter, loopback referers at install, long-lived tokens.
# Off unless asked for: `make run` (Procfile.demo) or an explicit PAYPLAN_DEMO=1 turns it on.
PAYPLAN_DEMO = env.bool("PAYPLAN_DEMO", default=False)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("PAYPLAN_IDEMPOTENCY_TTL_HOURS", default=72)
# A repeat of a key whose first request is still running waits this long for its answer, then gets 409.
IDEMPOTENCY_IN_PROGRESS_WAIT_SECONDS = env.float("PAYPLAN_IDEMPOTENCY_WAIT_SECONDS", default=5.0)
# A key left "in progress" this long belongs to a request that died mid-way: a repeat takes it over.
IDEMPOTENCY_IN_PROGRESS_LEASE_SECONDS = env.int("PAYPLAN_IDEMPOTENCY_LEASE_SECONDS", default=600)

# --- the CRM outbox (crm) and the amoCRM adapter (crm.amocrm); the names keep their AMOCRM_ prefix ----
# The redirect_uri registered with the integration; empty means PAYPLAN_PUBLIC_ORIGIN/amocrm/oauth/callback.
AMOCRM_REDIRECT_URI = env("AMOCRM_REDIRECT_URI", default="")
# Where /amocrm/install sends an admin to grant access (Kommo: https://www.kommo.com/oauth).
AMOCRM_OAUTH_URL = env("AMOCRM_OAUTH_URL", default="https://www.amocrm.ru/oauth")
# Accept a loopback referer (the sandbox) over plain http; unset means "only while PAYPLAN_DEMO is on".
AMOCRM_ALLOW_LOOPBACK = env.bool("AMOCRM_ALLOW_LOOPBACK", default=None)
# amoCRM allows 7 calls in any sliding second; pacing at 6.8 leaves ~30 ms a second for network jitter.
AMOCRM_RATE_LIMIT_RPS = env.float("AMOCRM_RATE_LIMIT_RPS", default=6.8)
AMOCRM_CONNECT_TIMEOUT = env.float("AMOCRM_CONNECT_TIMEOUT", default=5.0)
AMOCRM_READ_TIMEOUT = env.float("AMOCRM_READ_TIMEOUT", default=30.0)
AMOCRM_BATCH_SIZE = env.int("AMOCRM_BATCH_SIZE", default=50)  # entities per write; amoCRM takes up to 250
AMOCRM_OUTBOX_MAX_ATTEMPTS = env.int("AMOCRM_OUTBOX_MAX_ATTEMPTS", default=12)
AMOCRM_OUTBOX_BACKOFF_SECONDS = env.float("AMOCRM_OUTBOX_BACKOFF_SECONDS", default=10.0)
AMOCRM_OUTBOX_LEASE_SECONDS = env.int("AMOCRM_OUTBOX_LEASE_SECONDS", default=300)
AMOCRM_OUTBOX_DRAIN_SECONDS = env.float("AMOCRM_OUTBOX_DRAIN_SECONDS", default=30.0)
# Access tokens live 24 h; refreshing this far ahead keeps idle accounts' 3-month refresh chain alive.
AMOCRM_TOKEN_REFRESH_AHEAD_SECONDS = env.int("AMOCRM_TOKEN_REFRESH_AHEAD_SECONDS", default=6 * 3600)
AMOCRM_REDIS_PREFIX = env("AMOCRM_REDIS_PREFIX", default="payplan:amocrm")
CELERY_BEAT_SCHEDULE |= {
    "crm-outbox-drain": {"task": "widget_api.crm_outbox_drain", "schedule": AMOCRM_OUTBOX_DRAIN_SECONDS},
    "crm-tokens-refresh": {"task": "widget_api.crm_tokens_refresh", "schedule": 3600.0},
    # Completed payout tasks are polled (amoCRM has no task-completion hook we can rely on): one call per
    # 250 open payouts of an account, through the account's rate-limit bucket.
    "crm-payout-tasks-poll": {"task": "widget_api.crm_payout_tasks_poll",
                              "schedule": env.float("AMOCRM_PAYOUT_POLL_SECONDS", default=300.0)},
    # Bitrix24 (contract §2.4): no timer refresh of every portal; only pairs older than ~14 days, once a day.
    "bitrix24-portals-refresh-idle": {"task": "bitrix24.portals_refresh_idle", "schedule": 86400.0},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}

# --- Documents -----------------------------------------------------------------------------------
# Rendered PDFs go to the "documents" storage: the local filesystem by default, or any S3-compatible
# bucket (AWS, Yandex Object Storage, MinIO, ...) with DOCUMENTS_STORAGE=s3. Never publicly readable:
# clients download through signed /documents/<token> links that PayPlan serves.
DOCUMENTS_STORAGE = env("DOCUMENTS_STORAGE", default="local")
if DOCUMENTS_STORAGE == "s3":
    STORAGES["documents"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("DOCUMENTS_S3_BUCKET"),
            "endpoint_url": env("DOCUMENTS_S3_ENDPOINT_URL", default=None),
            "region_name": env("DOCUMENTS_S3_REGION", default=None),
            "access_key": env("DOCUMENTS_S3_ACCESS_KEY", default=None),
            "secret_key": env("DOCUMENTS_S3_SECRET_KEY", default=None),
            "location": env("DOCUMENTS_S3_PREFIX", default="documents"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": True,
        },
    }
else:
    STORAGES["documents"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env("DOCUMENTS_ROOT", default=str(MEDIA_ROOT) + "/documents"), "base_url": None},
    }
DOCUMENTS_EMAIL_FROM = env("DOCUMENTS_EMAIL_FROM", default="PayPlan <noreply@payplan.local>")
DOCUMENTS_LINK_MAX_AGE_DAYS = env.int("DOCUMENTS_LINK_MAX_AGE_DAYS", default=365)
# Documents with more schedule lines than this are rendered by a worker; the request answers 202.
DOCUMENTS_SYNC_MAX_ROWS = env.int("DOCUMENTS_SYNC_MAX_ROWS", default=400)
# Every render runs in a forked child that is SIGKILLed past these limits (documents/isolation.py); the
# request answers 422 template_too_heavy. Memory is address space on top of what the child inherits.
DOCUMENTS_RENDER_SECONDS = env.float("DOCUMENTS_RENDER_SECONDS", default=4.0)
DOCUMENTS_RENDER_MEMORY_MB = env.int("DOCUMENTS_RENDER_MEMORY_MB", default=512)
DOCUMENTS_WORKER_RENDER_SECONDS = env.float("DOCUMENTS_WORKER_RENDER_SECONDS", default=600.0)
DOCUMENTS_WORKER_RENDER_MEMORY_MB = env.int("DOCUMENTS_WORKER_RENDER_MEMORY_MB", default=3072)
DOCUMENTS_RENDER_MAX_PDF_MB = env.int("DOCUMENTS_RENDER_MAX_PDF_MB", default=100)
# Our own default templates are trusted (only load makes them slow): still in a child, with this limit
# (kept under the 15-minute claim after which a lost big render is queued again).
DOCUMENTS_DEFAULT_TEMPLATE_RENDER_SECONDS = env.float("DOCUMENTS_DEFAULT_TEMPLATE_RENDER_SECONDS", default=840.0)
LOGGING["loggers"] = {**LOGGING.get("loggers", {}), "weasyprint": {"level": "WARNING"},
                      "fontTools": {"level": "WARNING"}}

# --- The client page (client_portal): /p/<token>, /register/<token> --------------------------------
PAYPLAN_CLIENT_LINK_MAX_AGE_DAYS = env.int("PAYPLAN_CLIENT_LINK_MAX_AGE_DAYS", default=365)
# Restructurings a manager proposes expire after this many days unless the account sets its own
# (account setting `proposal_expiry_days`).
PAYPLAN_PROPOSAL_EXPIRY_DAYS = env.int("PAYPLAN_PROPOSAL_EXPIRY_DAYS", default=7)
# Registration form flood control: submissions per client IP and per account within the window.
PAYPLAN_REGISTRATION_PER_IP = env.int("PAYPLAN_REGISTRATION_PER_IP", default=5)
PAYPLAN_REGISTRATION_PER_ACCOUNT = env.int("PAYPLAN_REGISTRATION_PER_ACCOUNT", default=200)
PAYPLAN_REGISTRATION_WINDOW_SECONDS = env.int("PAYPLAN_REGISTRATION_WINDOW_SECONDS", default=600)
# Reverse proxies whose X-Forwarded-For names the client (addresses or networks, comma-separated). Empty: none,
# the client is REMOTE_ADDR (client_portal.client_ip: the address recorded with a consent, counted by the throttle).
PAYPLAN_TRUSTED_PROXIES = env.list("PAYPLAN_TRUSTED_PROXIES", default=[])

# --- Dunning (billing.dunning): the reminder ladder and its channels -------------------------------
DUNNING_TICK_SECONDS = env.float("DUNNING_TICK_SECONDS", default=300.0)
DUNNING_MAX_ATTEMPTS = env.int("DUNNING_MAX_ATTEMPTS", default=5)  # a temporary failure is retried this often
DUNNING_RETRY_BACKOFF_SECONDS = env.float("DUNNING_RETRY_BACKOFF_SECONDS", default=300.0)  # doubles per attempt
DUNNING_SEND_LEASE_SECONDS = env.int("DUNNING_SEND_LEASE_SECONDS", default=900)  # a claim older than this failed
DUNNING_PLAN_CHUNK_LINES = env.int("DUNNING_PLAN_CHUNK_LINES", default=500)  # lines per tick transaction
DUNNING_ANSWER_LINK_MAX_AGE_DAYS = env.int("DUNNING_ANSWER_LINK_MAX_AGE_DAYS", default=60)
DUNNING_CLAIM_PAUSE_DAYS = env.int("DUNNING_CLAIM_PAUSE_DAYS", default=3)  # "I paid" pauses the ladder this long
DUNNING_EMAIL_FROM = env("DUNNING_EMAIL_FROM", default=DOCUMENTS_EMAIL_FROM)
DUNNING_HTTP_CONNECT_TIMEOUT = env.float("DUNNING_HTTP_CONNECT_TIMEOUT", default=5.0)
DUNNING_HTTP_READ_TIMEOUT = env.float("DUNNING_HTTP_READ_TIMEOUT", default=15.0)
DUNNING_SMSRU_URL = env("DUNNING_SMSRU_URL", default="https://sms.ru")
DUNNING_WHATSAPP_URL = env("DUNNING_WHATSAPP_URL", default="https://graph.facebook.com")
DUNNING_WHATSAPP_API_VERSION = env("DUNNING_WHATSAPP_API_VERSION", default="v21.0")
DUNNING_TELEGRAM_URL = env("DUNNING_TELEGRAM_URL", default="https://api.telegram.org")
CELERY_BEAT_SCHEDULE["dunning-tick"] = {"task": "dunning.tick", "schedule": DUNNING_TICK_SECONDS}
