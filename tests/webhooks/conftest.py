"""Hand-made CloudPayments notifications, signed from the public contract (not by our sandbox)."""
import base64
import hashlib
import hmac
from datetime import date
from urllib.parse import unquote_plus, urlencode

import pytest
from rest_framework.test import APIClient

from billing.domain.schedule import PlanRequest
from billing.services import ScheduleOptions, deal_get_or_create, schedule_replace
from billing.services.invoicing import invoice_reserve


def content_hmac(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


class Notifier:
    """Posts notifications the way CloudPayments does: form-urlencoded UTF-8, both HMAC headers."""

    def __init__(self, account) -> None:
        self.account = account
        self.client = APIClient()

    def post(self, kind: str, fields: dict, *, secret: str | None = None, tamper: bool = False,
             only: str | None = None, key: str | None = None):
        body = urlencode(fields).encode()
        secret = secret or self.account.cloudpayments_api_secret
        headers = {"HTTP_CONTENT_HMAC": content_hmac(secret, body),
                   "HTTP_X_CONTENT_HMAC": content_hmac(secret, unquote_plus(body.decode()).encode())}
        if only == "x":
            del headers["HTTP_CONTENT_HMAC"]
        if only == "raw":
            del headers["HTTP_X_CONTENT_HMAC"]
        if tamper:
            body = body.replace(b"Amount=", b"Amount=1")
        return self.client.post(f"/webhooks/cloudpayments/{key or self.account.webhook_key}/{kind}", body,
                                content_type="application/x-www-form-urlencoded", **headers)


@pytest.fixture
def notifier(account):
    return Notifier(account)


@pytest.fixture
def invoiced(account):
    """A deal of 3 × 10 000 ₽ with an invoice reserved for its first line (number 2026-000001)."""
    deal = deal_get_or_create(account=account, external_id=5001)
    schedule_replace(deal=deal, plan_request=PlanRequest(plan="equal", total=30000, installments_count=3,
                                                         first_due_date=date(2026, 12, 1)),
                     options=ScheduleOptions(), request_data={}, created_by=1, today=date(2026, 11, 24))
    invoice = invoice_reserve(installment_id=deal.schedules.get().installments.get(seq=1).pk).invoice
    invoice.status = "issued"
    invoice.save()
    return invoice


def pay_fields(invoice, transaction_id: int = 1001, amount: str = "10000.00", **extra) -> dict:
    fields = {"TransactionId": str(transaction_id), "Amount": amount, "Currency": "RUB",
              "PaymentAmount": amount, "PaymentCurrency": "RUB", "DateTime": "2026-11-24 10:15:00",
              "CardFirstSix": "424242", "CardLastFour": "4242", "CardType": "Visa", "CardExpDate": "12/29",
              "TestMode": "0", "Status": "Completed", "OperationType": "Payment", "InvoiceId": invoice.number,
              "AccountId": str(invoice.deal.external_id), "SubscriptionId": "", "Name": "IVAN PETROV",
              "Email": "", "IpAddress": "127.0.0.1", "Data": '{"a":1}', "Token": "tk_test_4242",
              "GatewayName": "Test", "AuthCode": "A1B2C3", "TotalFee": "0"}
    fields.update(extra)
    return fields
