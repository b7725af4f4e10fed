"""Fixtures for dunning: accounts in several time zones, plans with a client, a recording provider."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from billing.domain.schedule import PlanRequest


def make_account(amocrm_id: int, subdomain: str, time_zone: str = "Europe/Moscow"):
    from billing.services import account_create

    return account_create(crm_account_id=amocrm_id, slug=subdomain, time_zone=time_zone)


def make_deal(account, *, lead_id=7001, first=date(2026, 12, 5), count=3, total=75000, email="ivanova@example.test",
              phone="+7 (912) 345-67-89", name="Иванова Мария"):
    from billing.services import ScheduleOptions, deal_get_or_create, schedule_replace
    from billing.services.deals import deal_update_crm_data

    deal = deal_get_or_create(account=account, external_id=lead_id)
    deal = deal_update_crm_data(deal=deal, name="Курс", contact_name=name, contact_phone=phone, contact_email=email,
                                responsible_user_id=501)
    schedule_replace(deal=deal, plan_request=PlanRequest(plan="equal", total=total, installments_count=count,
                                                         first_due_date=first, due_day=first.day),
                     options=ScheduleOptions(), request_data={}, created_by=1, today=date(2026, 11, 1))
    deal.refresh_from_db()
    return deal


def at(account, text: str) -> datetime:
    """An aware datetime from the account's wall clock: at(account, "2026-12-05 18:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(account.time_zone))


def tick(moment: datetime) -> dict:
    from billing.dunning.tasks import dunning_tick

    return dunning_tick(moment.isoformat())


def events(name: str, account=None) -> list:
    from billing.models import DomainEvent

    rows = DomainEvent.objects.filter(name=name).order_by("id")
    if account is not None:
        rows = rows.filter(account=account)
    return [row.payload for row in rows]


def runs(**filters) -> list:
    from billing.dunning.models import StepRun

    return list(StepRun.objects.filter(**filters).order_by("id").values_list("step_key", "status"))


class RecordingProvider:
    """Stands in for SMS/WhatsApp/Telegram where a test is about the ladder, not the wire."""

    def __init__(self) -> None:
        self.sent: list = []
        self.fail_with: list[Exception] = []

    def send(self, message):
        from billing.dunning.channels import Delivery

        if self.fail_with:
            raise self.fail_with.pop(0)
        self.sent.append(message)
        return Delivery(provider_message_id=f"m{len(self.sent)}")


@pytest.fixture
def provider(monkeypatch):
    """Non-email channels go to a RecordingProvider; email goes through Django's locmem backend."""
    from billing.dunning.channels import registry

    fake = RecordingProvider()
    real = registry.provider_for

    def provider_for(*, account, channel):
        return real(account=account, channel=channel) if channel == "client_email" else fake

    monkeypatch.setattr("billing.dunning.tasks.provider_for", provider_for)
    return fake


@pytest.fixture
def school(db):
    return make_account(31234567, "school")
