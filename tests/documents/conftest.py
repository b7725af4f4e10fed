"""Documents fixtures: an account with requisites, an issued invoice, storage in a temp dir, and loopback
servers (an SMTP sink, an HTTP recorder) that prove what was and was not sent."""
import http.server
import threading
from datetime import date

import pytest

from billing.models import Deal, Invoice
from documents.samples import SAMPLE_REQUISITES
from tests.conftest import WidgetClient
from tests.invoicing.conftest import gateway, make_plan

__all__ = ["gateway"]  # the invoicing suite's FakeGateway fixture, shared



@pytest.fixture(autouse=True)
def documents_storage(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "documents": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "docs")}}}
    return tmp_path / "docs"


@pytest.fixture
def school(account):
    account.settings = {"requisites": dict(SAMPLE_REQUISITES)}
    account.save()
    return account


def with_client(deal: Deal, email: str = "maria@example.com") -> Deal:
    Deal.objects.filter(pk=deal.pk).update(name="Курс косметологии", contact_name="Иванова Мария Сергеевна",
                                           contact_email=email, contact_phone="+7 900 000-00-00")
    deal.refresh_from_db()
    return deal


@pytest.fixture
def issue_invoice(school, gateway, django_capture_on_commit_callbacks):
    """Issue the first invoice of a fresh 3 × 10 000 ₽ plan the way the tick does, running what happens
    after commit (rendering, email) like a worker would."""
    from billing.services.invoicing import invoice_issue

    def issue(*, lead_id: int = 6001, email: str = "maria@example.com", total: int = 30000) -> Invoice:
        deal = with_client(make_plan(school, lead_id=lead_id, total=total), email)
        line = deal.schedules.get(is_active=True).installments.get(seq=1)
        with django_capture_on_commit_callbacks(execute=True):
            invoice = invoice_issue(installment_id=line.pk, today=date(2026, 12, 5)).invoice
        invoice.refresh_from_db()
        return invoice

    return issue


class _Recorder(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    """An HTTP server on 127.0.0.1 that records every request it gets: the hostile template's target."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_sink():
    from sandboxes.smtp import SmtpSink

    with SmtpSink() as sink:
        yield sink


class AdminWidgetClient(WidgetClient):
    """An amoCRM administrator of the account: only they may change templates."""

    def headers(self, idempotency_key: str | None = None) -> dict:
        from widget_api.tokens import token_mint

        return {"HTTP_X_AUTH_TOKEN": token_mint(account_id=self.account.crm_account_id,
                                                subdomain=self.account.slug, user_id=self.user_id,
                                                is_admin=True)}

    def delete(self, path: str):
        return self.client.delete(path, **self.headers())


@pytest.fixture
def admin(school):
    return AdminWidgetClient(school)
