"""The client page's CRM side (sandbox over HTTP) and the widget's endpoints for it."""
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from billing.client_links import registration_token
from billing.models import ClientRegistration, Deal, ScheduleProposal
from billing.services.accounts import account_settings_update
from tests.client_portal.conftest import page_path
from tests.conftest import WidgetClient, assert_error
from tests.crm.conftest import crm_settings, drain, installed, notes_of, sandbox  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

LEAD = 17651  # Иван Петров in the demo CRM
PLAN = {"plan": "equal", "total": "30000.00", "installments_count": 3, "first_due_date": "2026-12-05"}
TEMPLATES = {"enabled": True, "consent_text": "Согласие по 152-ФЗ, тест.", "templates": [
    {"key": "python", "title": "Курс «Python-разработчик»", "total": "120000.00", "installments_count": 4}]}


def _planned(account) -> tuple[WidgetClient, Deal]:
    widget = WidgetClient(account)
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", PLAN).status_code == 200
    drain(account)
    return widget, Deal.objects.get(account=account, external_id=LEAD)


def test_a_contact_correction_reaches_the_crm_contact(installed, sandbox):  # noqa: F811
    _, deal = _planned(installed)
    answer = Client().post(page_path(deal) + "/contact", {"name": "Иван Петров-Водкин", "phone": "+7 916 000-11-22",
                                                          "email": "IVAN@new.example.ru"})
    assert answer.status_code == 303
    drain(installed)
    contact = sandbox.account().contacts[sandbox.account().leads[LEAD].contact_ids[0]]
    assert contact.name == "Иван Петров-Водкин"
    assert contact.phones[0][0] == "+7 916 000-11-22"
    assert contact.emails[0][0] == "ivan@new.example.ru"
    assert any(text.startswith("Клиент исправил контактные данные") for text in notes_of(sandbox, LEAD))


def test_bad_contact_details_are_refused_field_by_field(installed, sandbox):  # noqa: F811
    _, deal = _planned(installed)
    answer = Client().post(page_path(deal) + "/contact", {"name": "", "phone": "abc", "email": "nope"})
    assert answer.status_code == 422
    html = answer.content.decode()
    assert "Укажите имя" in html
    assert "Укажите телефон" in html
    assert 'aria-invalid="true"' in html


def test_a_proposal_the_client_approves_becomes_the_plan_and_the_manager_gets_a_task(installed, sandbox):  # noqa: F811
    widget, deal = _planned(installed)
    proposed = widget.post(f"/api/v1/deals/{LEAD}/schedule/proposals", {**PLAN, "installments_count": 6})
    assert proposed.status_code == 201, proposed.content
    proposal = proposed.json()["proposal"]
    assert proposal["state"] == "pending"
    html = Client().get(page_path(deal)).content.decode()
    assert "Менеджер предлагает новый график" in html
    assert 'data-change="added"' in html
    assert Client().post(page_path(deal) + f"/proposals/{proposal['id']}/approve").status_code == 303
    assert deal.schedules.get(is_active=True).version == 2
    assert deal.schedules.get(is_active=True).installments.count() == 6
    stored = ScheduleProposal.objects.get()
    assert stored.status == "approved"
    assert stored.decided_by.endswith("(client page)")
    assert stored.decided_at
    drain(installed)
    assert any("Клиент согласился с новым графиком" in task.text for task in sandbox.account().tasks.values())
    again = Client().post(page_path(deal) + f"/proposals/{proposal['id']}/approve")
    assert again.status_code == 422
    assert "уже согласились" in again.content.decode()
    assert widget.get(f"/api/v1/deals/{LEAD}/client-page").json()["proposal"]["state"] == "approved"


def test_an_expired_or_superseded_proposal_is_refused_clearly(installed, sandbox):  # noqa: F811
    widget, deal = _planned(installed)
    first = widget.post(f"/api/v1/deals/{LEAD}/schedule/proposals", {**PLAN, "installments_count": 6}).json()
    with time_machine.travel(timedelta(days=8)):
        late = Client().post(page_path(deal) + f"/proposals/{first['proposal']['id']}/approve")
    assert late.status_code == 422
    assert "истёк" in late.content.decode()
    second = widget.post(f"/api/v1/deals/{LEAD}/schedule/proposals", {**PLAN, "installments_count": 2}).json()
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", {**PLAN, "installments_count": 5}).status_code == 200
    stale = Client().post(page_path(deal) + f"/proposals/{second['proposal']['id']}/approve")
    assert stale.status_code == 422
    assert "больше не действует" in stale.content.decode()
    assert deal.schedules.get(is_active=True).installments.count() == 5
    declined = widget.post(f"/api/v1/deals/{LEAD}/schedule/proposals", {**PLAN, "installments_count": 4}).json()
    assert Client().post(page_path(deal) + f"/proposals/{declined['proposal']['id']}/decline").status_code == 303
    drain(installed)
    assert any("отказался" in task.text for task in sandbox.account().tasks.values())
    assert deal.schedules.get(is_active=True).installments.count() == 5


def test_rotate_gives_a_new_link_and_kills_the_old(installed, sandbox):  # noqa: F811
    widget, _deal = _planned(installed)
    old = widget.get(f"/api/v1/deals/{LEAD}/client-page").json()["url"]
    new = widget.post(f"/api/v1/deals/{LEAD}/client-page/rotate", {}).json()["url"]
    assert old != new
    client = Client()
    assert client.get(urlsplit(old).path).status_code == 404
    assert client.get(urlsplit(new).path).status_code == 200


def test_early_payoff_from_the_widget_is_exact_to_the_kopeck(installed, sandbox):  # noqa: F811
    widget, _deal = _planned(installed)
    preview = widget.post(f"/api/v1/deals/{LEAD}/early-payoff/preview", {"amount": "15000.01", "mode": "lower"})
    assert preview.status_code == 200, preview.content
    amounts = [Decimal(line["amount"]) for line in preview.json()["installments"]]
    assert sum(amounts) == Decimal("30000.00")
    assert amounts[0] == Decimal("15000.01")
    too_much = widget.post(f"/api/v1/deals/{LEAD}/early-payoff/preview", {"amount": "40000", "mode": "lower"})
    assert_error(too_much, 422, "invalid_payoff", "amount")
    applied = widget.post(f"/api/v1/deals/{LEAD}/early-payoff", {"amount": "15000.01", "mode": "shorten",
                                                                 "expected_version": 1})
    assert applied.status_code == 200, applied.content
    assert [line["amount"] for line in applied.json()["installments"]] == ["15000.01", "10000.00", "4999.99"]
    stale = widget.post(f"/api/v1/deals/{LEAD}/early-payoff", {"amount": "1000", "mode": "shorten",
                                                               "expected_version": 1})
    assert_error(stale, 409, "plan_changed")


def test_a_registration_makes_the_contact_and_lead_once_and_opens_the_plan(installed, sandbox, settings):  # noqa: F811
    account_settings_update(account=installed, settings={"client_registration": TEMPLATES})
    cache.delete_many([f"payplan:register:{installed.pk}:ip:127.0.0.1", f"payplan:register:{installed.pk}:all"])
    client = Client()
    path = f"/register/{registration_token(installed.pk)}"
    form = client.get(path)
    assert form.status_code == 200
    assert "Согласие по 152-ФЗ, тест." in form.content.decode()
    data = {"name": "Пётр Новый", "phone": "+79990001122", "email": "petr@example.ru", "template": "python",
            "consent": "yes", "submission_key": "k" * 20}
    answer = client.post(path, data)
    assert answer.status_code == 303
    assert client.post(path, data).status_code == 303  # a resubmitted form is the same sign-up
    drain(installed)
    drain(installed)
    registration = ClientRegistration.objects.get()
    assert registration.status == "done"
    assert registration.consent_text == "Согласие по 152-ФЗ, тест."
    leads = [lead for lead in sandbox.account().leads.values() if "Пётр Новый" in lead.name]
    assert len(leads) == 1
    assert leads[0].id == registration.crm_external_id
    waiting = client.get(answer["Location"])
    assert waiting.status_code == 303
    assert waiting["Location"].startswith("/p/")
    plan = client.get(waiting["Location"]).content.decode()
    assert "30\u00a0000,00\u00a0₽" in plan  # 120 000 in four payments
    assert any("зарегистрировался" in text for text in notes_of(sandbox, registration.crm_external_id))


def test_registration_refuses_bots_bad_input_and_floods(installed, sandbox, settings):  # noqa: F811
    account_settings_update(account=installed, settings={"client_registration": TEMPLATES})
    settings.PAYPLAN_REGISTRATION_PER_IP = 3
    cache.delete_many([f"payplan:register:{installed.pk}:ip:127.0.0.1", f"payplan:register:{installed.pk}:all"])
    client = Client()
    path = f"/register/{registration_token(installed.pk)}"
    bot = client.post(path, {"name": "x", "website": "http://spam", "submission_key": "b" * 20})
    assert bot.status_code == 200
    assert not ClientRegistration.objects.exists()
    bad = client.post(path, {"name": "", "phone": "1", "email": "x", "submission_key": "c" * 20})
    assert bad.status_code == 422
    assert "Нужно согласие" in bad.content.decode()
    flood = [client.post(path, {"name": "n", "submission_key": f"{i:020d}"}).status_code for i in range(4)]
    assert flood[-1] == 429
    assert client.get("/register/forged-token").status_code == 404


def test_the_consent_behind_a_configured_proxy_records_the_clients_address(installed, sandbox, settings):  # noqa: F811
    account_settings_update(account=installed, settings={"client_registration": TEMPLATES})
    settings.PAYPLAN_TRUSTED_PROXIES = ["127.0.0.1"]
    cache.delete_many([f"payplan:register:{installed.pk}:ip:198.51.100.9", f"payplan:register:{installed.pk}:all"])
    path = f"/register/{registration_token(installed.pk)}"
    answer = Client().post(path, {"name": "Пётр Новый", "phone": "+79990001122", "email": "petr@example.ru",
                                  "template": "python", "consent": "yes", "submission_key": "p" * 20},
                           HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.9")
    assert answer.status_code == 303
    assert ClientRegistration.objects.get().ip_address == "198.51.100.9"


def _sign_up(account, key: str):
    account_settings_update(account=account, settings={"client_registration": TEMPLATES})
    cache.delete_many([f"payplan:register:{account.pk}:ip:127.0.0.1", f"payplan:register:{account.pk}:all"])
    client = Client()
    path = f"/register/{registration_token(account.pk)}"
    answer = client.post(path, {"name": "Пётр Новый", "phone": "+79990001122", "email": "petr@example.ru",
                                "template": "python", "consent": "yes", "submission_key": key})
    assert answer.status_code == 303
    return client, answer["Location"]


def _relay_due_now() -> None:
    """Skip the waits: the sign-up's next CRM try and the relay's next claim are due now."""
    from django.utils import timezone

    from billing.models import EventDelivery

    ClientRegistration.objects.update(crm_retry_at=timezone.now() - timedelta(seconds=1))
    EventDelivery.objects.filter(state="pending").update(next_attempt_at=timezone.now())


# The handler's note of the wait is committed as a worker commits it: no test transaction around it.
@pytest.mark.django_db(transaction=True)
def test_a_sign_up_while_the_crm_is_down_waits_truthfully_and_completes_when_it_is_back(installed, sandbox,  # noqa: F811
                                                                                        settings):
    from billing.models import EventDelivery

    settings.PAYPLAN_EVENTS_MAX_ATTEMPTS = 2
    sandbox.faults.add({"next": 1000, "status": 503, "path_prefix": "/api/v4/leads"})
    client, waiting = _sign_up(installed, "d" * 20)
    for _ in range(4):  # more tries than the relay's dead-letter limit: a CRM outage never gives the sign-up up
        drain(installed)
        _relay_due_now()
    registration = ClientRegistration.objects.get()
    assert (registration.status, registration.crm_external_id, registration.crm_attempts) == ("pending", None, 4)
    assert not EventDelivery.objects.filter(handler="widget_api.crm_registration", state="dead").exists()
    page = client.get(waiting)
    assert page.status_code == 200
    assert "Ваша заявка сохранена" in page.content.decode()
    assert "CRM сейчас не отвечает" in page.content.decode()
    assert page["Refresh"] == "30"

    sandbox.faults.clear()  # amoCRM is back
    drain(installed)
    drain(installed)
    registration.refresh_from_db()
    assert registration.status == "done"
    assert len([lead for lead in sandbox.account().leads.values() if "Пётр Новый" in lead.name]) == 1
    assert client.get(waiting)["Location"].startswith("/p/")


# The handler's note of the wait is committed as a worker commits it: no test transaction around it.
@pytest.mark.django_db(transaction=True)
def test_a_sign_up_waits_for_a_disconnected_crm_without_calling_it(installed, sandbox, settings):  # noqa: F811
    from crm.amocrm.models import CrmConnection

    CrmConnection.objects.filter(account=installed).update(status="disconnected")
    before = len(sandbox.journal)
    _sign_up(installed, "e" * 20)
    drain(installed)
    registration = ClientRegistration.objects.get()
    assert (registration.status, registration.crm_attempts) == ("pending", 1)
    assert len(sandbox.journal) == before
    assert registration.error


def test_a_refused_sign_up_tells_the_client_how_to_get_in_touch(installed, sandbox):  # noqa: F811
    account_settings_update(account=installed, settings={"requisites": {"phone": "+7 495 000-00-00"}})
    client, waiting = _sign_up(installed, "f" * 20)
    ClientRegistration.objects.update(status="failed", error="amoCRM refused the lead")
    html = client.get(waiting).content.decode()
    assert "свяжитесь с нами" in html
    assert "+7 495 000-00-00" in html
