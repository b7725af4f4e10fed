"""Clients never read the lead's CRM title: documents, emails and the payment page name the service the way
the account chose; contracts carry their own per-account numbers, never the CRM's lead id."""
import json
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core import mail

from billing.models import Deal
from billing.services import PaymentInput, payment_record
from billing.time import account_today
from crm.amocrm import delivery
from documents.kinds import Kind
from documents.safe_render import render_template
from documents.selectors import default_template_source, document_subject_get
from tests.conftest import WidgetClient, assert_error
from tests.invoicing.conftest import make_plan

pytestmark = pytest.mark.django_db
SECRET_TITLE = "Иванова — ВНУТР: скидка 30%, проблемный"
SECRET_WORDS = ("ВНУТР", "скидка 30%", "проблемный")


def _no_secret(text: str, where: str) -> None:
    for word in SECRET_WORDS:
        assert word not in text, f"{where}: {word!r} in {text!r}"


@pytest.fixture
def secret_deal(school):
    school.settings = {**school.settings, "client_service_name": {"source": "education_direction",
                                                                  "default_text": "Оплата обучения"}}
    school.save()
    deal = make_plan(school, lead_id=6101)
    Deal.objects.filter(pk=deal.pk).update(name=SECRET_TITLE, contact_name="Иванова Мария Сергеевна",
                                           contact_email="maria@example.com", education_direction="Косметология")
    deal.refresh_from_db()
    return deal


def _html(account, kind, object_id) -> tuple[str, dict, str]:
    subject = document_subject_get(account=account, kind=kind, object_id=object_id)
    return render_template(default_template_source(kind), subject.variables), subject.variables, subject.title


def test_no_document_email_or_payment_description_shows_the_crm_title(
        secret_deal, school, gateway, django_capture_on_commit_callbacks):
    from billing.services.invoicing import invoice_issue

    widget = WidgetClient(school)
    # The contract first: it takes its number, which the invoice and the emails then cite.
    assert widget.get(f"/api/v1/deals/{secret_deal.external_id}/documents/contract.pdf").status_code == 200
    line = secret_deal.schedules.get(is_active=True).installments.get(seq=1)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_issue(installment_id=line.pk, today=date(2026, 12, 5)).invoice
    with django_capture_on_commit_callbacks(execute=True):
        payment = payment_record(deal=secret_deal, amount=Decimal("10000.00"),
                                 payment=PaymentInput(method="cash", paid_at=date(2026, 11, 24)))

    ((_, order),) = gateway.calls
    _no_secret(order.description, "CloudPayments description")
    assert order.description == f"Косметология, счёт № {invoice.number}"

    contract = f"Д-{account_today(school).year}-000001"
    for kind, object_id in ((Kind.INVOICE, invoice.pk), (Kind.RECEIPT, payment.pk),
                            (Kind.SCHEDULE, secret_deal.pk), (Kind.CONTRACT, secret_deal.pk),
                            (Kind.OFFER, secret_deal.pk)):
        html, variables, title = _html(school, kind, object_id)
        _no_secret(html, f"{kind} HTML")
        _no_secret(json.dumps(variables, default=str, ensure_ascii=False), f"{kind} variables")
        _no_secret(title, f"{kind} title")
        assert "Косметология" in html, kind
        if kind != Kind.OFFER:
            assert contract in html, kind
    assert len(mail.outbox) == 2  # the invoice and the receipt
    for message in mail.outbox:
        _no_secret(message.subject + message.body, "email")
        assert f"Косметология по договору № {contract}" in message.body

    # An account's own template that still prints deal.name shows the service too.
    subject = document_subject_get(account=school, kind=Kind.INVOICE, object_id=invoice.pk)
    assert render_template("<p>{{ deal.name }}</p>", subject.variables) == "<p>Косметология</p>"


@pytest.mark.parametrize(("setting", "expected"), [
    ({"source": "fixed", "default_text": "Юридические услуги"}, "Юридические услуги"),
    ({"source": "group", "default_text": "Оплата обучения"}, "Оплата обучения"),  # the deal has no group
    ({"source": "custom_field", "field_id": 555, "default_text": "Оплата обучения"}, "Курс «Массаж лица»"),
    ({}, "Оплата услуг"),
])
def test_the_service_name_follows_the_accounts_setting_with_the_default_as_fallback(
        secret_deal, school, setting, expected):
    Deal.objects.filter(pk=secret_deal.pk).update(service_name="Курс «Массаж лица»")
    school.settings = {**school.settings, "client_service_name": setting}
    school.save()
    html, variables, _ = _html(school, Kind.SCHEDULE, secret_deal.pk)
    assert variables["deal"]["service_name"] == variables["deal"]["name"] == expected
    assert expected.replace("«", "&#171;").replace("»", "&#187;") in html or expected in html
    _no_secret(html, "schedule")


def test_contract_numbers_are_given_once_and_increase_per_account(school, other_account):
    first, second = make_plan(school, lead_id=6201), make_plan(school, lead_id=6202)
    foreign = make_plan(other_account, lead_id=6201)
    year = account_today(school).year
    widget, other = WidgetClient(school), WidgetClient(other_account)

    def number(client, lead_id):
        response = client.get(f"/api/v1/deals/{lead_id}/documents/contract.pdf")
        assert response.status_code == 200, response.content
        return Deal.objects.get(pk={6201: first, 6202: second}[lead_id].pk if client is widget
                                else foreign.pk).contract_number, response["Content-Disposition"]

    assert number(widget, 6202)[0] == f"Д-{year}-000001"
    assert number(widget, 6201)[0] == f"Д-{year}-000002"
    again, disposition = number(widget, 6202)
    assert again == f"Д-{year}-000001"  # given once: rendering again keeps it
    assert "6202" not in disposition  # the file is named by the contract, not the CRM lead id
    assert number(other, 6201)[0] == f"Д-{year}-000001"  # every account counts on its own
    html, variables, title = _html(school, Kind.CONTRACT, first.pk)
    assert variables["contract"]["number"] == f"Д-{year}-000002"
    assert f"ДОГОВОР № Д-{year}-000002" in html
    assert "6201" not in title


class _FakeCrm:
    """Answers the two reads of a lead fetch: the lead with its custom fields, and no contacts."""

    def __init__(self, lead: dict) -> None:
        self.lead = lead

    def get(self, path, params=None):
        if path == "/api/v4/leads":
            return {"_embedded": {"leads": [self.lead]}}
        return {"_embedded": {"contacts": []}}


def test_the_lead_fetch_fills_the_service_name_from_the_chosen_field(school):
    school.settings = {**school.settings, "client_service_name": {"source": "course", "field_id": 777,
                                                                  "default_text": "Оплата обучения"}}
    school.save()
    deal = make_plan(school, lead_id=6301)
    lead = {"id": 6301, "name": SECRET_TITLE, "responsible_user_id": 5, "custom_fields_values": [
        {"field_id": 111, "values": [{"value": "не то поле"}]},
        {"field_id": 777, "values": [{"value": "Курс косметологии", "enum_id": 3}]}]}
    action = SimpleNamespace(external_id=6301, deal=deal, payload={})
    delivery._fetch_leads(_FakeCrm(lead), school, [action])
    deal.refresh_from_db()
    assert (deal.name, deal.service_name) == (SECRET_TITLE, "Курс косметологии")
    html, _, _ = _html(school, Kind.SCHEDULE, deal.pk)
    assert "Курс косметологии" in html
    _no_secret(html, "schedule")

    lead["custom_fields_values"] = []  # the field was emptied in amoCRM: the default text shows
    delivery._fetch_leads(_FakeCrm(lead), school, [action])
    deal.refresh_from_db()
    assert deal.service_name == ""
    assert _html(school, Kind.SCHEDULE, deal.pk)[1]["deal"]["service_name"] == "Оплата обучения"


def test_the_setting_is_read_and_written_through_the_settings_api(school):
    from tests.documents.conftest import AdminWidgetClient

    admin = AdminWidgetClient(school)
    assert admin.get("/api/v1/account/settings").json()["client_service_name"] == {
        "source": "fixed", "field_id": None, "default_text": "Оплата услуг"}
    body = {"client_service_name": {"source": "custom_field", "field_id": 555, "default_text": "Оплата обучения"}}
    response = admin.patch("/api/v1/account/settings", body)
    assert response.status_code == 200, response.content
    assert response.json()["client_service_name"] == body["client_service_name"]
    school.refresh_from_db()
    assert school.settings["requisites"]["inn"] == "7701234567"  # other sections are kept
    assert_error(admin.patch("/api/v1/account/settings", {"client_service_name": {"source": "product"}}),
                 422, field="client_service_name.field_id")
    assert_error(admin.patch("/api/v1/account/settings", {"client_service_name": {"source": "deal_title"}}),
                 422, field="client_service_name.source")
    russian = admin.client.patch("/api/v1/account/settings", json.dumps({"client_service_name": {"source": "course"}}),
                               content_type="application/json", HTTP_ACCEPT_LANGUAGE="ru", **admin.headers())
    assert assert_error(russian, 422)["fields"]["client_service_name.field_id"] == [
        "Выберите поле сделки, из которого берётся название услуги."]


def test_the_fiscal_receipt_names_the_service_not_the_lead(secret_deal, school):
    from billing.services.receipts import receipt_for, receipt_settings

    payment = payment_record(deal=secret_deal, amount=Decimal("10000.00"),
                             payment=PaymentInput(method="cash", paid_at=date(2026, 11, 24)))
    (item,) = receipt_for(payment, receipt_settings(school)).customer_receipt["Items"]
    assert item["Label"] == "Косметология"
    school.settings = {**school.settings, "receipts": {"item_label": "Образовательные услуги"}}
    (item,) = receipt_for(payment, receipt_settings(school)).customer_receipt["Items"]
    assert item["Label"] == "Образовательные услуги"
