"""Demo mode is opt-in; production settings force HTTPS; our HTML pages carry a CSP."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "x" * 50, "PAYPLAN_FERNET_KEYS": "bXZsS0ZrR3l0a0Q0cEJ0cGN0d2tTZ3BhRk1uZ1hqQ2E=",
    "AMOCRM_CLIENT_ID": "b3a1c2d4-5e6f-4a1b-9c8d-7e6f5a4b3c2d", "AMOCRM_CLIENT_SECRET": "s" * 40,
    "PAYPLAN_PUBLIC_ORIGIN": "https://payplan.example.com",
}
READ = ["PAYPLAN_DEMO", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT", "MIDDLEWARE",
        "PAYPLAN_CONTENT_SECURITY_POLICY", "DEBUG"]


def settings_of(module: str, **env: str) -> dict:
    """Import a settings module in a clean process (no PAYPLAN_* or DJANGO_* from this one) and read it."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("PAYPLAN_", "DJANGO_", "AMOCRM_"))}
    script = ("import importlib, json, sys; m = importlib.import_module(sys.argv[1]); "
              f"print(json.dumps({{name: getattr(m, name, None) for name in {READ!r}}}))")
    done = subprocess.run([sys.executable, "-c", script, module], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ["config.settings.base", "config.settings.local", "config.settings.production"])
def test_demo_mode_is_off_unless_the_environment_turns_it_on(module):
    env = PRODUCTION_ENV if module.endswith("production") else {}
    assert settings_of(module, **env)["PAYPLAN_DEMO"] is False
    assert settings_of(module, **env, PAYPLAN_DEMO="1")["PAYPLAN_DEMO"] is True


def test_production_settings_import_and_force_https():
    values = settings_of("config.settings.production", **PRODUCTION_ENV)

    assert values["DEBUG"] is False
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SESSION_COOKIE_SECURE"] is values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SECURE_SSL_REDIRECT"] is True
    assert "widget_api.security.ContentSecurityPolicyMiddleware" in values["MIDDLEWARE"]
    policy = values["PAYPLAN_CONTENT_SECURITY_POLICY"]
    assert "script-src 'self';" in policy
    assert "'unsafe-eval'" not in policy
    assert "object-src 'none'" in policy


def test_production_settings_refuse_to_start_without_their_secrets():
    with pytest.raises(subprocess.CalledProcessError):
        settings_of("config.settings.production",
                    **{key: value for key, value in PRODUCTION_ENV.items() if key != "DJANGO_SECRET_KEY"})


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/amocrm/oauth/callback?code=x&referer=evil.example.com", "/api/docs/"])
def test_html_pages_carry_the_content_security_policy(path):
    response = APIClient().get(path)

    assert response["Content-Type"].startswith("text/html")
    assert response["Content-Security-Policy"] == django_settings.PAYPLAN_CONTENT_SECURITY_POLICY
    assert "<script>" not in response.content.decode()  # nothing inline that the policy would block


def test_the_docs_page_script_is_served_as_a_file_the_policy_allows():
    page = APIClient().get("/api/docs/").content.decode()
    script = APIClient().get("/api/docs/?script")

    assert '<script src="/api/docs/?script"' in page or "?script" in page
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()
    assert "Content-Security-Policy" not in script  # not HTML: nothing to police


def test_json_answers_carry_no_policy(db):
    response = APIClient().get("/healthz")
    assert "Content-Security-Policy" not in response
