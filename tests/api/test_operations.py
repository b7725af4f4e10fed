"""Operator surfaces: health, OpenAPI, management commands, the demo page."""
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from billing.models import Account, Deal
from widget_api.tokens import token_verify

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker():
    response = APIClient().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"db": "ok", "broker": "ok"}


def test_healthz_names_the_broker_when_it_is_down(settings, monkeypatch):
    from config.celery_app import app

    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = APIClient().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"db": "ok", "broker": "down"}


def test_openapi_schema_describes_the_widget_endpoints():
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path, method in [("/api/v1/deals/{lead_id}", "get"), ("/api/v1/deals/{lead_id}/schedule", "put"),
                         ("/api/v1/deals/{lead_id}/schedule/preview", "post"),
                         ("/api/v1/deals/{lead_id}/payments", "post"),
                         ("/api/v1/deals/{lead_id}/full-payment", "post")]:
        assert method in paths[path], path


def test_api_docs_page_is_served_offline():
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    assert b"cdn" not in response.content.lower()


def test_account_create_command_stores_the_secret_encrypted(db):
    out = StringIO()
    call_command("payplan_account_create", "--subdomain", "School", "--account-id", "555",
                 "--cp-public-id", "pk_1", "--cp-secret", "very-secret", stdout=out)
    account = Account.objects.get(crm_account_id=555)
    assert account.slug == "school"
    assert account.cloudpayments_api_secret == "very-secret"
    raw = _raw_secret(account.pk)
    assert "very-secret" not in raw
    assert account.webhook_key in out.getvalue()


def _raw_secret(pk: int) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT cloudpayments_api_secret FROM billing_account WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_account_create_refuses_an_unknown_time_zone(db):
    with pytest.raises(CommandError, match=r"часовой пояс|time zone"):
        call_command("payplan_account_create", "--subdomain", "x", "--account-id", "1", "--time-zone", "Mars/Base")


def test_token_command_mints_a_token_the_api_accepts(account):
    out = StringIO()
    call_command("payplan_token", "--account", "school", "--user", "42", stdout=out)
    claims = token_verify(out.getvalue().strip())
    assert (claims.account_id, claims.user_id) == (account.crm_account_id, 42)
    response = APIClient().get("/api/v1/deals/1", HTTP_X_AUTH_TOKEN=out.getvalue().strip())
    assert response.status_code == 200


def test_token_command_for_an_unknown_account_fails_clearly(db):
    with pytest.raises(CommandError, match="No account"):
        call_command("payplan_token", "--account", "nobody", "--user", "1")


def test_demo_load_is_idempotent_and_covers_every_state(db):
    call_command("payplan_demo_load", stdout=StringIO())
    call_command("payplan_demo_load", stdout=StringIO())
    statuses = set(Deal.objects.values_list("status", flat=True))
    assert statuses == {"active", "overdue", "paid", "no_plan"}
    assert Deal.objects.count() == 8
    assert Deal.objects.filter(direction="outgoing").exists()


def test_demo_page_lists_the_demo_deals(db, settings):
    settings.PAYPLAN_DEMO = True
    call_command("payplan_demo_load", stdout=StringIO())
    response = APIClient().get("/demo/")
    assert response.status_code == 200
    assert "17651" in response.content.decode()


def test_demo_page_is_off_when_switched_off(db, settings):
    settings.PAYPLAN_DEMO = False
    assert APIClient().get("/demo/").status_code == 404

