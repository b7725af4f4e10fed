"""Benchmark settings: the test settings on a database of their own, plus a bare baseline view."""
from config.settings.test import *  # noqa: F403
from config.settings.test import env

DATABASES = {"default": env.db("BENCH_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/payplan_bench")}
DATABASES["default"]["CONN_MAX_AGE"] = 60
ROOT_URLCONF = "bench.urls"
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_URL = "memory://"
DEBUG = False
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
