"""A service that calls an outside system refuses to run inside an open transaction."""
import pytest
from django.db import transaction

from billing.services.invoicing import (
    invoice_gateway_cancel,
    invoice_issue,
    invoice_order_create,
    invoice_reconcile,
    invoices_retry_creating,
)
from billing.services.receipts import payment_receipt_send
from billing.transactions import OpenTransactionError, assert_no_transaction, in_open_transaction
from crm.amocrm.client import AmoCrmClient
from crm.amocrm.oauth import token_call
from documents.kinds import Kind
from documents.services import document_email_send

pytestmark = pytest.mark.django_db

OUTSIDE_CALLERS = {
    "invoice_issue": lambda account: invoice_issue(installment_id=0),
    "invoice_order_create": lambda account: invoice_order_create(invoice=None),
    "invoice_gateway_cancel": lambda account: invoice_gateway_cancel(invoice_id=0),
    "invoices_retry_creating": lambda account: invoices_retry_creating(account=account),
    "invoice_reconcile": lambda account: invoice_reconcile(invoice_id=0),
    "payment_receipt_send": lambda account: payment_receipt_send(payment_id=0),
    "document_email_send": lambda account: document_email_send(account=account, kind=Kind.INVOICE, object_id=0),
    "amocrm_request": lambda account: AmoCrmClient.__new__(AmoCrmClient)._send("GET", "/api/v4/leads", None, None),
    "amocrm_token": lambda account: token_call("http://127.0.0.1:9", {"grant_type": "refresh_token"}),
}


def test_the_test_case_transaction_is_not_an_open_transaction():
    assert not in_open_transaction()
    assert_no_transaction()


def test_an_atomic_block_is_an_open_transaction():
    with transaction.atomic():
        assert in_open_transaction()
        with pytest.raises(OpenTransactionError):
            assert_no_transaction()


@pytest.mark.parametrize("service", OUTSIDE_CALLERS.values(), ids=OUTSIDE_CALLERS.keys())
def test_a_service_that_calls_out_refuses_to_run_inside_a_transaction(account, service):
    with transaction.atomic(), pytest.raises(OpenTransactionError):
        service(account)


def test_atomic_requests_are_off(settings):
    """A request-wide transaction would hold every lock of a view across its gateway and CRM calls."""
    assert all(not database.get("ATOMIC_REQUESTS") for database in settings.DATABASES.values())
