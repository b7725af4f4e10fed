"""A deal with a plan, its client page link, and the recording gateway of the invoicing tests."""
from datetime import date

import pytest
from django.test import Client

from billing.client_links import client_page_path
from billing.domain.schedule import PlanRequest
from billing.services import ScheduleOptions, deal_get_or_create, schedule_replace
from tests.invoicing.conftest import FakeGateway


@pytest.fixture
def gateway(monkeypatch):
    fake = FakeGateway()
    monkeypatch.setattr("billing.services.invoicing.gateway_for", lambda account: fake)
    return fake


def make_deal(account, lead_id=7001, total=30000, count=3, first=date(2026, 12, 5)):
    deal = deal_get_or_create(account=account, external_id=lead_id)
    deal.contact_name, deal.contact_email, deal.contact_phone = "Анна Иванова", "anna@example.ru", "+79001234567"
    deal.name = "Иванова — ВНУТР: скидка 30%"
    deal.save()
    schedule_replace(deal=deal, plan_request=PlanRequest(plan="equal", total=total, installments_count=count,
                                                         first_due_date=first, due_day=5),
                     options=ScheduleOptions(), created_by=1, today=date(2026, 11, 24))
    deal.refresh_from_db()
    return deal


@pytest.fixture
def deal(account):
    return make_deal(account)


@pytest.fixture
def client():
    return Client()


def page_path(deal) -> str:
    deal.refresh_from_db()
    return client_page_path(deal)
