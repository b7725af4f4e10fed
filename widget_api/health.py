"""Liveness of what PayPlan needs: the database and the Celery broker."""
import logging

from django.db import connection
from django.http import JsonResponse

from config.celery_app import app as celery_app

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # any driver error means "down" for a health check
        logger.exception("health: database check failed")
        return False


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # any transport error means "down" for a health check
        logger.exception("health: broker check failed")
        return False


def healthz(request):
    checks = {"db": _database_ok(), "broker": _broker_ok()}
    body = {name: "ok" if ok else "down" for name, ok in checks.items()}
    return JsonResponse(body, status=200 if all(checks.values()) else 503)
