"""On invoice_issued the PDF is stored and emailed with the payment link; on payment_recorded the receipt
is emailed; each once, after commit, through Django's email (locmem here, a loopback SMTP sink below)."""
import re
import socket
from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.storage import storages
from django.utils import timezone

from billing.models import EventDelivery
from billing.services import PaymentInput, payment_record
from billing.services.relay import events_relay_run
from documents.links import LinkTarget, document_link_read
from documents.models import DocumentEmail, StoredDocument
from documents.services import document_deliver, document_email_send
from documents.tasks import deliver_document
from tests.client_links import client_pages_linked

pytestmark = pytest.mark.django_db


def test_an_issued_invoice_is_emailed_to_the_client_with_its_pdf_and_payment_link(issue_invoice):
    invoice = issue_invoice()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["maria@example.com"]
    assert message.subject == "Счёт № 2026-000001 на 10\u00a0000,00 руб. — оплатить до 05.12.2026"
    assert message.from_email == "ООО «Школа профессий» <noreply@payplan.local>"
    assert message.reply_to == ["buh@school.example"]
    assert invoice.payment_url in message.body
    (token,) = re.findall(r"https://payplan\.test/documents/(\S+)", message.body)
    assert document_link_read(token) == LinkTarget(invoice.account_id, "invoice", invoice.pk)
    assert invoice.deal_id in client_pages_linked(message.body)  # the client's own page: plan, pay buttons, documents
    (name, content, mimetype), = message.attachments
    assert (name, mimetype) == ("invoice-2026-000001.pdf", "application/pdf")
    assert content.startswith(b"%PDF")
    stored = StoredDocument.objects.get(kind="invoice", object_id=invoice.pk)
    assert storages["documents"].exists(stored.file_name)
    assert DocumentEmail.objects.get(kind="invoice", object_id=invoice.pk).status == "sent"


def test_a_repeated_task_sends_nothing_twice(issue_invoice):
    invoice = issue_invoice()
    deliver_document.delay(invoice.account_id, "invoice", invoice.pk)
    deliver_document.delay(invoice.account_id, "invoice", invoice.pk)
    assert len(mail.outbox) == 1
    assert DocumentEmail.objects.get().attempts == 1


def test_without_a_client_email_the_pdf_is_still_stored_and_the_email_skipped(issue_invoice):
    invoice = issue_invoice(email="")
    assert mail.outbox == []
    assert StoredDocument.objects.filter(kind="invoice", object_id=invoice.pk).exists()
    assert DocumentEmail.objects.get().status == "skipped"


def test_a_recorded_payment_emails_its_receipt_once(issue_invoice, django_capture_on_commit_callbacks):
    deal = issue_invoice().deal
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        payment = payment_record(deal=deal, amount=Decimal("10000.00"),
                                 payment=PaymentInput(method="cash", paid_at=date(2026, 11, 24)))
    (message,) = mail.outbox
    assert message.subject == "Оплата получена: 10\u00a0000,00 руб."
    assert "Остаток по договору: 20\u00a0000,00 руб." in message.body
    assert deal.pk in client_pages_linked(message.body)
    assert message.attachments[0][0].startswith("receipt-2026-")
    assert DocumentEmail.objects.get(kind="receipt").object_id == payment.pk


def test_an_opening_balance_gets_no_receipt(school, django_capture_on_commit_callbacks):
    from billing.domain.schedule import PlanRequest
    from billing.services import ScheduleOptions, deal_get_or_create, schedule_replace
    from tests.documents.conftest import with_client

    deal = with_client(deal_get_or_create(account=school, external_id=6100))
    with django_capture_on_commit_callbacks(execute=True):
        schedule_replace(deal=deal, plan_request=PlanRequest(plan="equal", total=30000, already_paid=5000,
                                                             installments_count=3, first_due_date=date(2026, 12, 5)),
                         options=ScheduleOptions(), request_data={}, created_by=1, today=date(2026, 11, 24))
    assert deal.payments.filter(method="opening_balance").exists()
    assert mail.outbox == []


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_over_real_smtp_a_failure_is_recorded_and_the_retry_delivers(issue_invoice, smtp_sink, settings):
    invoice = issue_invoice(email="")  # issued with nobody to write to: nothing sent yet
    DocumentEmail.objects.all().delete()
    invoice.deal.contact_email = "maria@example.com"
    invoice.deal.save()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", _closed_port(), False
    settings.EMAIL_TIMEOUT = 5
    with pytest.raises(OSError):
        document_email_send(account=invoice.account, kind="invoice", object_id=invoice.pk)
    failed = DocumentEmail.objects.get()
    assert failed.status == "failed"
    assert "Connection" in failed.error
    settings.EMAIL_PORT = smtp_sink.port
    document_email_send(account=invoice.account, kind="invoice", object_id=invoice.pk)
    (received,) = smtp_sink.messages
    assert received.recipients == ("maria@example.com",)
    assert str(received.message["Subject"]).strip().startswith("Счёт № 2026-000001")
    attachment = next(received.message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF")
    assert invoice.payment_url in received.message.get_body(("plain",)).get_content()
    assert DocumentEmail.objects.get().status == "sent"


def test_payouts_of_an_outgoing_plan_email_no_receipt(school, django_capture_on_commit_callbacks):
    from tests.documents.conftest import with_client
    from tests.invoicing.conftest import make_plan

    deal = with_client(make_plan(school, lead_id=6200, direction="outgoing"))
    with django_capture_on_commit_callbacks(execute=True):
        payment_record(deal=deal, amount=Decimal("10000.00"),
                       payment=PaymentInput(method="bank_transfer", paid_at=date(2026, 11, 24)))
    assert mail.outbox == []
    assert not DocumentEmail.objects.exists()


def test_a_rolled_back_payment_sends_nothing(issue_invoice, django_capture_on_commit_callbacks):
    from django.db import transaction

    deal = issue_invoice().deal
    mail.outbox.clear()
    recorded = django_capture_on_commit_callbacks(execute=True)
    with recorded, pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012
        payment_record(deal=deal, amount=Decimal("10000.00"),
                       payment=PaymentInput(method="cash", paid_at=date(2026, 11, 24)))
        raise RuntimeError("the caller failed after recording")
    assert mail.outbox == []


def test_a_failing_document_never_fails_the_payment_that_triggered_it(
        issue_invoice, django_capture_on_commit_callbacks, monkeypatch, caplog):
    deal = issue_invoice().deal

    def broken(**kwargs):
        raise RuntimeError("storage is down")

    monkeypatch.setattr("documents.events.document_deliver", broken)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        payment = payment_record(deal=deal, amount=Decimal("10000.00"),
                                 payment=PaymentInput(method="cash", paid_at=date(2026, 11, 24)))
    assert payment.pk
    delivery = EventDelivery.objects.get(handler="documents.deliver", event__payload__payment_id=payment.pk)
    assert (delivery.state, delivery.attempts) == ("pending", 1)
    assert "storage is down" in delivery.last_error
    monkeypatch.setattr("documents.events.document_deliver", document_deliver)
    EventDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    events_relay_run()
    (message,) = mail.outbox
    assert message.attachments[0][0].startswith("receipt-2026-")
