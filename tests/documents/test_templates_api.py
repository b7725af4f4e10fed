"""GET/PUT/DELETE /api/v1/account/templates/{kind} and the preview: admins change their own templates;
anything a template may not do is a 422 naming the line, and nothing is fetched from the network."""
import pytest

from documents.models import DocumentTemplate, StoredDocument
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db
INVOICE = "/api/v1/account/templates/invoice"
MINIMAL = "<html><body><h1>Счёт № {{ invoice.number }}</h1><p>{{ invoice.amount|money }}</p></body></html>"


def test_the_default_template_comes_with_its_documented_variables(widget, school):
    body = widget.get(INVOICE).json()
    assert body["is_default"] is True
    assert body["kind"] == "invoice"
    assert body["title"] == "Счёт на оплату"
    # its words come from the catalogue in the account's language (tests/documents/test_document_languages.py)
    assert '{{ _("Invoice No. %(number)s", number=invoice.number) }}' in body["source"]
    assert body["variables"]["invoice.number"] == "Номер счёта"  # the editor's notes in the manager's language
    assert {"invoice.number", "invoice.amount_words", "invoice.payment_url", "company.inn"} <= set(body["variables"])
    assert "qr_code(text)" in body["helpers"]
    assert body["requisites_missing"] == []


def test_an_admin_replaces_a_template_and_the_next_pdf_uses_it(admin, issue_invoice, widget):
    invoice = issue_invoice()
    before = StoredDocument.objects.get(kind="invoice", object_id=invoice.pk).fingerprint
    response = admin.put(INVOICE, {"source": MINIMAL})
    assert response.status_code == 200, response.content
    assert response.json()["is_default"] is False
    assert response.json()["source"] == MINIMAL
    assert widget.get(f"/api/v1/invoices/{invoice.pk}/pdf").status_code == 200
    assert StoredDocument.objects.get(kind="invoice", object_id=invoice.pk).fingerprint != before
    reset = admin.delete(INVOICE)
    assert reset.status_code == 200
    assert reset.json()["is_default"] is True
    assert not DocumentTemplate.objects.exists()


def test_only_admins_change_templates(widget, school):
    assert_error(widget.put(INVOICE, {"source": MINIMAL}), 403, "admin_required")


@pytest.mark.parametrize(("source", "code", "line"), [
    ("<p>Счёт</p>\n{{ ''.__class__.__mro__ }}", "template_forbidden", 2),
    ("<p>\n{% for line in invoice.lines %}\n{{ line.title }}", "template_syntax_error", 3),
    ("<p>{{ invoice.number }}</p>\n\n<p>{{ invoice.secret_field }}</p>", "template_undefined", 3),
    ("{{ deal.__class__.objects.all() }}", "template_forbidden", 1),
])
def test_a_bad_template_is_a_422_naming_the_line_and_is_not_saved(admin, source, code, line):
    error = assert_error(admin.put(INVOICE, {"source": source}), 422, code, "source")
    assert error["message"].startswith((f"Line {line}:", f"Строка {line}:")), error
    assert not DocumentTemplate.objects.exists()


def test_a_too_heavy_template_is_a_422_and_is_not_saved(admin):
    """The output cap names the line; on a busy machine the 4 s deadline may stop it first, and a killed
    render cannot name a line: either way it is refused and nothing is kept."""
    source = "{% for i in range(10000) %}{% for j in range(10000) %}{{ j }}{% endfor %}{% endfor %}"
    error = assert_error(admin.put(INVOICE, {"source": source}), 422, "template_too_heavy", "source")
    assert error["message"].startswith(("Line 1:", "Строка 1:")) or "4" in error["message"], error
    assert not DocumentTemplate.objects.exists()


def test_a_template_pointing_at_a_loopback_server_is_refused_and_the_server_sees_nothing(admin, recorder):
    source = (f'<html><head><link rel="stylesheet" href="{recorder.url}/s.css"></head>\n'
              f'<body>\n<img src="{recorder.url}/pixel.png">{{{{ invoice.number }}}}</body></html>')
    error = assert_error(admin.put(INVOICE, {"source": source}), 422, "template_external_url", "source")
    assert recorder.url in error["message"]
    preview = admin.post(f"{INVOICE}/preview", {"source": source})
    assert_error(preview, 422, "template_external_url")
    assert recorder.requests == []
    assert not DocumentTemplate.objects.exists()


def test_the_preview_is_a_pdf_of_sample_data_with_the_accounts_requisites(admin, widget):
    for client in (admin, widget):
        response = client.post(f"{INVOICE}/preview", {})
        assert response.status_code == 200
        assert response.content.startswith(b"%PDF")
    draft = widget.post("/api/v1/account/templates/contract/preview",
                        {"source": "<p>{{ contract.number }} {{ client.name }}</p>"})
    assert draft.status_code == 200


def test_one_accounts_template_never_reaches_another(admin, other_widget, other_account):
    admin.put(INVOICE, {"source": MINIMAL})
    assert other_widget.get(INVOICE).json()["is_default"] is True


def test_unknown_kinds_are_404(admin):
    assert_error(admin.get("/api/v1/account/templates/passport"), 404, "document_kind_not_found")
    assert_error(admin.put("/api/v1/account/templates/passport", {"source": MINIMAL}), 404)
