"""YooKassa over real loopback HTTP: our server (live_server), the sandbox (sandboxes.yookassa), PostgreSQL."""
import pytest

from tests.conftest import WidgetClient

SHOP_ID, SECRET_KEY = "100500", "test_school_secret_key"


@pytest.fixture
def yookassa_account(account):
    from billing.services.account_settings import account_settings_change

    return account_settings_change(account=account, changes={
        "yookassa": {"shop_id": SHOP_ID, "secret_key": SECRET_KEY}, "gateways": {"cards": "yookassa"}})


@pytest.fixture
def yookassa(yookassa_account, live_server, settings):
    from sandboxes.yookassa import YooKassaSandbox

    server = YooKassaSandbox(
        {SHOP_ID: (SECRET_KEY, f"{live_server.url}/webhooks/yookassa/{yookassa_account.webhook_key}")},
        notify_attempts=3, notify_timeout=20, notify_retry_seconds=0.01).start()
    settings.YOOKASSA_API_URL = server.api_url
    settings.YOOKASSA_READ_TIMEOUT = 3
    settings.YOOKASSA_RETRIES = 3
    settings.YOOKASSA_BACKOFF = 0.01
    yield server
    server.settle()
    server.stop()


def put_plan(account, lead_id: int, **changes) -> dict:
    body = {"plan": "equal", "total": "60000.00", "installments_count": 6, "first_due_date": "2026-11-24",
            "due_day": 24, **changes}
    response = WidgetClient(account).put(f"/api/v1/deals/{lead_id}/schedule", body)
    assert response.status_code == 200, response.content
    return response.json()


def issue_invoice(account, lead_id: int) -> dict:
    response = WidgetClient(account).post(f"/api/v1/deals/{lead_id}/invoices", {})
    assert response.status_code == 201, response.content
    return response.json()


class AdminClient(WidgetClient):
    def headers(self, idempotency_key: str | None = None) -> dict:
        from widget_api.tokens import token_mint

        headers = super().headers(idempotency_key)
        headers["HTTP_X_AUTH_TOKEN"] = token_mint(account_id=self.account.crm_account_id,
                                                  subdomain=self.account.slug, user_id=111, is_admin=True)
        return headers
