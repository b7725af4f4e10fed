"""Autopay over real HTTP: our server (live_server) for the notifications, the loopback CloudPayments
sandbox for orders and token charges, real PostgreSQL."""
import time
from datetime import UTC, date, datetime

import pytest
from django.utils import timezone

from billing.models import Deal, Invoice, SavedCard
from billing.services.autopay import autopay_enable
from sandboxes.cloudpayments import SandboxServer
from tests.conftest import WidgetClient

CONSENT = ("Я согласен(на) на списание очередных платежей по графику с моей карты в даты платежей. "
           "Отключить автоплатёж можно в любой момент.")
CLIENT_EMAIL = "anna@example.ru"


@pytest.fixture
def sandbox(account, live_server, settings):
    account.cloudpayments_test_mode = True  # the sandbox terminal sends TestMode=1, as a test site does
    account.save(update_fields=["cloudpayments_test_mode"])
    server = SandboxServer(
        {account.cloudpayments_public_id: (account.cloudpayments_api_secret, account.webhook_key)},
        notify_url_template=f"{live_server.url}/webhooks/cloudpayments/{{account_key}}/{{kind}}",
        notify_time_factor="0.01", notify_attempts=3, notify_timeout=10,
    ).start()
    settings.CLOUDPAYMENTS_API_URL = server.url + "/"
    settings.CLOUDPAYMENTS_READ_TIMEOUT = 2
    settings.CLOUDPAYMENTS_RETRIES = 3
    settings.CLOUDPAYMENTS_BACKOFF = 0.01
    yield server
    settle(server)
    server.stop()


def settle(server: SandboxServer, timeout: float = 10) -> None:
    """Wait until every notification the sandbox sent has been answered."""
    deadline = time.monotonic() + timeout
    while server.notifier.busy and time.monotonic() < deadline:
        time.sleep(0.02)


def autopay_plan(account, lead_id: int, *, count: int = 12, total: str = "120000.00",
                 first_due_date: str = "2026-12-05", autopay: bool = True) -> Deal:
    body = {"plan": "equal", "total": total, "installments_count": count, "first_due_date": first_due_date,
            "due_day": 5, "autopay": autopay}
    response = WidgetClient(account).put(f"/api/v1/deals/{lead_id}/schedule", body)
    assert response.status_code == 200, response.content
    Deal.objects.filter(account=account, external_id=lead_id).update(contact_email=CLIENT_EMAIL, contact_name="Анна")
    return Deal.objects.get(account=account, external_id=lead_id)


def pay_link(sandbox: SandboxServer, invoice: Invoice, *, card: str = "4242424242424242", exp: str = "12/30") -> str:
    """The client pays the invoice link; returns the card token the gateway minted."""
    paid = sandbox.pay_order(invoice.gateway_order_id, card=card, exp=exp)
    assert all(delivery.get("accepted") for delivery in paid["deliveries"]), paid["deliveries"]
    return sandbox.ledger.transactions[paid["transaction_id"]].token


def first_payment_saves_card(account, sandbox, deal: Deal, *, exp: str = "12/30") -> SavedCard:
    """The first line paid through its invoice link, the client agreeing to autopay."""
    response = WidgetClient(account).post(f"/api/v1/deals/{deal.external_id}/invoices", {})
    assert response.status_code == 201, response.content
    token = pay_link(sandbox, Invoice.objects.get(pk=response.json()["id"]), exp=exp)
    return consent(deal, token)


def consent(deal: Deal, token: str) -> SavedCard:
    return autopay_enable(deal=deal, token=token, consent_text=CONSENT, consented_at=timezone.now(),
                          source="invoice_link", ip_address="127.0.0.1")


def charges(sandbox: SandboxServer) -> list[dict]:
    return [call for call in sandbox.journal if call["path"] == "payments/tokens/charge"]


def moment(day: date):
    """Noon in Moscow on `day`: the account's day is `day`."""
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)
