"""The bank statement endpoints: admins upload, 422 names the line, everything scoped to the caller's account."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.domain.bank_statement import render_statement
from billing.models import BankDocument, Payment
from tests.bank_statements.conftest import LEAD, OUR
from tests.bank_statements.test_bank_import import credit, first_line_amount
from tests.conftest import WidgetClient, assert_error

pytestmark = pytest.mark.django_db


class AdminClient(WidgetClient):
    def headers(self, idempotency_key=None):
        from widget_api.tokens import token_mint

        token = token_mint(account_id=self.account.crm_account_id, subdomain=self.account.slug,
                           user_id=self.user_id, is_admin=True)
        return {"HTTP_X_AUTH_TOKEN": token}

    def upload(self, data: bytes, name: str = "kl_to_1c.txt"):
        return self.client.post("/api/v1/bank-statements", {"file": SimpleUploadedFile(name, data)},
                                format="multipart", **self.headers())


@pytest.fixture
def admin(account):
    return AdminClient(account)


def statement_bytes(*documents) -> bytes:
    return render_statement([OUR], list(documents)).encode("cp1251")


def test_admin_uploads_previews_and_confirms_the_exact_match(admin, deals):
    deal, _other = deals
    amount = first_line_amount(deal)
    response = admin.upload(statement_bytes(credit("11", str(amount), "Оплата по договору Д-2026-000017")))
    assert response.status_code == 201, response.content
    body = response.json()
    row = body["documents"][0]
    assert (row["suggested_lead_id"], row["exact"], row["status"]) == (LEAD, True, "new")
    assert "договор" in row["reason"]
    again = admin.get(f"/api/v1/bank-statements/{body['id']}")
    assert again.json()["documents"][0]["id"] == row["id"]
    confirmed = admin.post(f"/api/v1/bank-documents/{row['id']}/confirm", {})
    assert confirmed.status_code == 201, confirmed.content
    assert confirmed.json()["status"] == "confirmed"
    assert Payment.objects.get(pk=confirmed.json()["payment_id"]).method == "bank_transfer"
    assert_error(admin.post(f"/api/v1/bank-documents/{row['id']}/confirm", {}), 409, "bank_document_decided")


def test_a_broken_file_is_422_with_the_line_and_records_nothing(admin, deals):
    data = statement_bytes(credit("1", "100.00", "x")).replace("КонецФайла".encode("cp1251"), b"")
    error = assert_error(admin.upload(data), 422, "bad_statement", "file")
    assert "Строка" in error["message"] or "Line" in error["message"]
    assert not BankDocument.objects.exists()


def test_a_manager_who_is_not_admin_cannot_upload(widget, deals):
    response = widget.client.post("/api/v1/bank-statements",
                                  {"file": SimpleUploadedFile("s.txt", statement_bytes(credit("1", "1.00", "x")))},
                                  format="multipart", **widget.headers())
    assert_error(response, 403)


def test_another_accounts_statement_and_document_are_404(admin, deals, other_account):
    body = admin.upload(statement_bytes(credit("1", "100.00", "x"))).json()
    stranger = AdminClient(other_account)
    assert_error(stranger.get(f"/api/v1/bank-statements/{body['id']}"), 404, "bank_statement_not_found")
    document_id = body["documents"][0]["id"]
    assert_error(stranger.post(f"/api/v1/bank-documents/{document_id}/confirm", {}), 404, "bank_document_not_found")
    assert_error(stranger.post(f"/api/v1/bank-documents/{document_id}/skip", {}), 404, "bank_document_not_found")
    # a lead of another account named explicitly is just as unknown
    other_lead = admin.post(f"/api/v1/bank-documents/{document_id}/confirm", {"lead_id": 999999})
    assert_error(other_lead, 404, "deal_not_found")


def test_skip_marks_the_document(admin, deals):
    body = admin.upload(statement_bytes(credit("1", "100.00", "x"))).json()
    skipped = admin.post(f"/api/v1/bank-documents/{body['documents'][0]['id']}/skip", {})
    assert skipped.status_code == 200, skipped.content
    assert skipped.json()["status"] == "skipped"
