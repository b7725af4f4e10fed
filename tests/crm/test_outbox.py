"""The CRM outbox against the sandbox: what billing events become, delivery, batching, errors, retries."""
import io
import time as time_module
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.models import Deal
from billing.services.accounts import account_settings_update
from crm.models import CrmAction
from crm.outbox import actions_claim
from sandboxes.amocrm.seed import FIELD_DEBT, FIELD_LAST_PAYMENT_DAY, FIELD_RECEIVED, FIELD_TOTAL
from tests.conftest import WidgetClient
from tests.crm.conftest import calls, drain, lead_field, note_action, notes_of

pytestmark = pytest.mark.django_db
LEAD = 17655  # "Кузнецов — Java-разработчик", stage "Новая заявка" of pipeline 1113 in the demo seed
PLAN = {"plan": "equal", "total": "150000.00", "installments_count": 6, "first_due_date": "2027-01-05",
        "due_day": 5, "group": "JAVA-2027-01"}


def kinds(account) -> list[tuple[str, str]]:
    """The account's CRM actions once the event relay has turned its events into them."""
    from billing.services.relay import events_relay_run

    events_relay_run()
    return list(CrmAction.objects.filter(account=account).order_by("id").values_list("kind", "source"))


def test_a_plan_and_a_full_payment_end_with_fields_notes_and_the_completed_stage(installed, sandbox):
    widget = WidgetClient(installed)
    assert widget.put(f"/api/v1/deals/{LEAD}/schedule", PLAN).status_code == 200
    # The relay runs after each commit (the nudge); a relay that only got to both events after the payment
    # would find the plan's field update still waiting with the final values and add no second one.
    kinds(installed)
    assert widget.post(f"/api/v1/deals/{LEAD}/full-payment", {"method": "bank_transfer"}).status_code == 201

    assert kinds(installed) == [
        ("fetch_lead", "widget"), ("update_fields", "schedule_changed"), ("add_note", "schedule_changed"),
        ("update_fields", "deal_paid"), ("move_to_completed", "deal_paid"), ("add_note", "payment_recorded")]
    report = drain(installed)

    assert (report.done, report.dead, report.retried) == (6, 0, 0)
    lead = sandbox.account().leads[LEAD]
    assert (lead.status_id, lead.pipeline_id) == (142, 1113)
    assert lead_field(sandbox, LEAD, FIELD_TOTAL) == "150000"
    assert lead_field(sandbox, LEAD, FIELD_RECEIVED) == "150000"
    assert lead_field(sandbox, LEAD, FIELD_DEBT) == "0"
    moscow_midnight = datetime.combine(date(2027, 6, 5), time(0, 0), tzinfo=ZoneInfo("Europe/Moscow"))
    assert lead_field(sandbox, LEAD, FIELD_LAST_PAYMENT_DAY) == int(moscow_midnight.timestamp())
    notes = notes_of(sandbox, LEAD)
    assert notes[0].startswith("График платежей создан: сумма 150\u00a0000,00\u00a0₽, платежей: 6")
    assert notes[1].startswith("Получен платёж 150\u00a0000,00\u00a0₽ (банковский перевод)")
    assert "долг погашен полностью" in notes[1]
    deal = Deal.objects.get(external_id=LEAD)
    assert (deal.name, deal.contact_name, deal.contact_phone, deal.contact_email, deal.responsible_user_id) == (
        "Кузнецов — Java-разработчик", "Дмитрий Кузнецов", "+79161234505", "d.kuznetsov@example.ru", 8765432)
    note_ids = sorted(CrmAction.objects.filter(kind="add_note").values_list("crm_entity_id", flat=True))
    assert note_ids == sorted(sandbox.account().notes)


def test_delivered_actions_are_never_sent_again(installed, sandbox):
    WidgetClient(installed).put(f"/api/v1/deals/{LEAD}/schedule", PLAN)
    drain(installed)
    sent = len(sandbox.journal)

    CrmAction.objects.update(state="pending", next_attempt_at=timezone.now())  # as if a worker crashed late
    drain(installed)

    assert len(notes_of(sandbox, LEAD)) == 1
    assert not calls(sandbox, "POST", "/api/v4/leads/notes")[sent:]


def test_field_updates_and_notes_of_many_deals_go_in_one_request_each(installed, sandbox):
    widget = WidgetClient(installed)
    for lead_id in (17651, 17652, 17653):
        assert widget.put(f"/api/v1/deals/{lead_id}/schedule", PLAN).status_code == 200

    report = drain(installed)

    assert report.done == 9
    assert [len(entry.body) for entry in calls(sandbox, "PATCH", "/api/v4/leads")] == [3]
    assert [len(entry.body) for entry in calls(sandbox, "POST", "/api/v4/leads/notes")] == [3]
    assert len(calls(sandbox, "GET", "/api/v4/leads")) == 1  # the three lead reads, in one call
    assert all(lead_field(sandbox, lead_id, FIELD_TOTAL) == "150000" for lead_id in (17651, 17652, 17653))


def test_a_deals_actions_arrive_in_the_order_they_were_written(installed, sandbox):
    widget = WidgetClient(installed)
    widget.put(f"/api/v1/deals/{LEAD}/schedule", PLAN)
    for amount in ("1000.00", "2000.00", "3000.00"):
        body = {"amount": amount, "method": "cash", "paid_at": timezone.localdate().isoformat()}
        assert widget.post(f"/api/v1/deals/{LEAD}/payments", body).status_code == 201

    drain(installed)

    texts = notes_of(sandbox, LEAD)
    assert [text.split(" (")[0] for text in texts[1:]] == [
        f"Получен платёж {thousands}\u00a0000,00\u00a0₽" for thousands in (1, 2, 3)]
    assert lead_field(sandbox, LEAD, FIELD_RECEIVED) == "6000"


def test_a_validation_error_dead_letters_the_action_with_amocrms_message(installed, sandbox):
    account_settings_update(account=installed, settings={"task_user_id": 999999})  # no such amoCRM user
    note = note_action(installed, LEAD, "fine")
    other = Deal.objects.create(account=installed, external_id=17656)
    task = CrmAction.objects.create(account=installed, deal=other, external_id=17656, kind="create_task",
                                    payload={"text": "Call", "complete_till": 1767225600,
                                             "responsible_user_id": 999999})

    report = drain(installed)

    task.refresh_from_db()
    note.refresh_from_db()
    assert (report.dead, report.done) == (1, 1)
    assert task.state == "dead"
    assert "responsible_user_id" in task.last_error
    assert "NotSupportedChoice" in task.last_error
    assert note.state == "done"
    assert note.crm_entity_id in sandbox.account().notes


def test_a_batch_refused_for_one_item_delivers_the_others(installed, sandbox):
    for lead_id in (17651, 17652, 17653):
        note_action(installed, lead_id, f"note for {lead_id}")
    note_action(installed, 99999991, "x")  # not a lead of this amoCRM account

    drain(installed)

    states = dict(CrmAction.objects.values_list("external_id", "state"))
    assert states == {17651: "done", 17652: "done", 17653: "done", 99999991: "dead"}
    assert sum(len(notes_of(sandbox, lead_id)) for lead_id in (17651, 17652, 17653)) == 3


@pytest.mark.parametrize("status", [429, 500, 503])
def test_429_and_5xx_are_retried_with_backoff_and_delivered_once(installed, sandbox, status):
    action = note_action(installed, LEAD, "after a hiccup")
    sandbox.faults.add({"next": 1, "status": status, "path_prefix": "/api/v4/leads/notes"})

    first = drain(installed)
    action.refresh_from_db()
    assert (first.retried, action.state, action.attempts) == (1, "pending", 1)
    assert action.next_attempt_at > timezone.now()
    assert str(status) in action.last_error

    CrmAction.objects.filter(pk=action.pk).update(next_attempt_at=timezone.now())
    drain(installed)

    action.refresh_from_db()
    assert action.state == "done"
    assert notes_of(sandbox, LEAD) == ["after a hiccup"]


def test_a_timed_out_note_that_reached_amocrm_is_found_not_sent_twice(installed, sandbox, settings):
    settings.AMOCRM_READ_TIMEOUT = 0.5
    action = note_action(installed, LEAD, "slow but stored")
    sandbox.faults.add({"next": 1, "delay_seconds": 1.0, "path_prefix": "/api/v4/leads/notes"})

    drain(installed)
    action.refresh_from_db()
    assert (action.state, action.maybe_sent) == ("pending", True)
    assert action.next_attempt_at > timezone.now() + timedelta(seconds=5)  # time for amoCRM to finish it
    deadline = time_module.monotonic() + 5
    while not sandbox.account().notes and time_module.monotonic() < deadline:  # ...which it does, late
        time_module.sleep(0.05)
    CrmAction.objects.filter(pk=action.pk).update(next_attempt_at=timezone.now())
    drain(installed)

    action.refresh_from_db()
    assert action.state == "done"
    assert notes_of(sandbox, LEAD) == ["slow but stored"]
    assert action.crm_entity_id == next(iter(sandbox.account().notes))


def settle(account, rounds: int = 6) -> None:
    """Drain, and bring every retry's backoff forward, until no action of the account is open."""
    for _ in range(rounds):
        drain(account)
        if not CrmAction.objects.filter(account=account, state__in=CrmAction.OPEN_STATES).exists():
            return
        CrmAction.objects.filter(account=account, state="pending").update(next_attempt_at=timezone.now())
    raise AssertionError(f"CRM actions still open after {rounds} drains")


def applied_items(sandbox, method: str, path: str) -> list[dict]:
    """The request items the sandbox applied (answered or not), from its journal."""
    return [item for entry in calls(sandbox, method, path) if entry.status == 200 for item in entry.body]


@pytest.mark.parametrize("moment", ["before", "after"])
def test_connection_resets_leave_every_note_task_field_update_and_stage_move_applied_once(installed, sandbox, moment):
    # [I] faults: the connection is reset before amoCRM applied the request, or after (the answer with the new
    # note's id is lost). A note sent again after the latter would be a second note: it is looked up first.
    first, second = note_action(installed, 17651, "first note"), note_action(installed, 17651, "second note")
    fields_deal = Deal.objects.create(account=installed, external_id=17652)
    fields = CrmAction.objects.create(account=installed, deal=fields_deal, external_id=17652, kind="update_fields",
                                      payload={"fields": {"total": "90000.00", "received": "30000.00"}})
    move_deal = Deal.objects.create(account=installed, external_id=17653)
    move = CrmAction.objects.create(account=installed, deal=move_deal, external_id=17653, kind="move_to_completed",
                                    payload={})
    task_deal = Deal.objects.create(account=installed, external_id=17654)
    task = CrmAction.objects.create(account=installed, deal=task_deal, external_id=17654, kind="create_task",
                                    payload={"text": "Позвонить клиенту", "complete_till": 1767225600,
                                             "responsible_user_id": 8765432})
    sandbox.faults.add({"next": 1, "reset": moment, "method": "POST", "path_prefix": "/api/v4/leads/notes"})
    sandbox.faults.add({"next": 1, "reset": moment, "method": "PATCH", "path_prefix": "/api/v4/leads"})
    sandbox.faults.add({"next": 1, "reset": moment, "method": "POST", "path_prefix": "/api/v4/tasks"})

    settle(installed)

    assert [entry.reset for entry in sandbox.journal if entry.reset] == [moment] * 3
    actions = [first, second, fields, move, task]
    for action in actions:
        action.refresh_from_db()
    assert [(action.state, action.attempts) for action in actions] == [
        ("done", 1), ("done", 0), ("done", 1), ("done", 1), ("done", 1)]
    assert [row["text"] for row in applied_items(sandbox, "POST", "/api/v4/tasks")] == ["Позвонить клиенту"]
    assert list(sandbox.account().tasks) == [task.crm_entity_id]
    assert notes_of(sandbox, 17651) == ["first note", "second note"]
    assert [item["params"]["text"] for item in applied_items(sandbox, "POST", "/api/v4/leads/notes")] == [
        "first note", "second note"]
    assert sorted(sandbox.account().notes) == sorted([first.crm_entity_id, second.crm_entity_id])
    assert (lead_field(sandbox, 17652, FIELD_TOTAL), lead_field(sandbox, 17652, FIELD_RECEIVED)) == ("90000", "30000")
    assert sandbox.account().leads[17653].status_id == 142
    lead_writes = [entry.body for entry in calls(sandbox, "PATCH", "/api/v4/leads") if entry.status == 200]
    # A lead write is a PATCH of absolute values: sent again after a reset it sets the same values once more.
    assert lead_writes == [lead_writes[0]] * (2 if moment == "after" else 1)
    assert {item["request_id"] for item in lead_writes[0]} == {str(fields.pk), str(move.pk)}


def test_an_action_is_dead_lettered_after_the_last_attempt_with_its_error(installed, sandbox, settings):
    settings.AMOCRM_OUTBOX_MAX_ATTEMPTS = 2
    action = note_action(installed, LEAD, "never")
    sandbox.faults.add({"next": 2, "status": 502, "path_prefix": "/api/v4/leads/notes"})

    drain(installed)
    CrmAction.objects.filter(pk=action.pk).update(next_attempt_at=timezone.now())
    drain(installed)

    action.refresh_from_db()
    assert (action.state, action.attempts) == ("dead", 2)
    assert action.last_error.startswith("gave up after 2 attempts")
    assert "502" in action.last_error

    listing = io.StringIO()
    call_command("payplan_crm_retry", "--list", stdout=listing)
    assert f"{action.pk}\t" in listing.getvalue()
    assert "502" in listing.getvalue()
    call_command("payplan_crm_retry", "--account", "demo", stdout=io.StringIO())
    drain(installed)
    action.refresh_from_db()
    assert action.state == "done"


def test_a_claim_of_a_killed_worker_is_taken_over_after_its_lease_without_a_duplicate(installed, sandbox):
    from crm.amocrm.client import AmoCrmClient

    action = note_action(installed, LEAD, "sent just before the worker died")
    [claimed] = actions_claim(account_id=installed.pk, limit=10)
    AmoCrmClient.for_account(installed).post("/api/v4/leads/notes", [
        {"entity_id": LEAD, "note_type": "service_message",
         "params": {"service": "PayPlan", "text": claimed.payload["text"]}}])
    # ...the worker is killed here: nothing recorded, the row stays `sending`.
    assert drain(installed).rounds == 0  # the lease still holds

    CrmAction.objects.filter(pk=action.pk).update(lease_expires_at=timezone.now())
    drain(installed)

    action.refresh_from_db()
    assert action.state == "done"
    assert notes_of(sandbox, LEAD) == ["sent just before the worker died"]


def test_outgoing_plans_get_a_close_task_instead_of_a_stage_move(installed, sandbox):
    widget = WidgetClient(installed)
    widget.put(f"/api/v1/deals/{LEAD}/schedule", {**PLAN, "direction": "outgoing"})
    widget.post(f"/api/v1/deals/{LEAD}/full-payment", {"method": "bank_transfer"})

    drain(installed)

    lead = sandbox.account().leads[LEAD]
    assert lead.status_id != 142
    [task] = sandbox.account().tasks.values()
    assert (task.entity_id, task.responsible_user_id) == (LEAD, 8765432)
    assert "Закройте сделку" in task.text
    assert "Сделана выплата" in notes_of(sandbox, LEAD)[-1]


def test_the_completed_stage_and_pipeline_come_from_the_settings(installed, sandbox):
    account_settings_update(account=installed, settings={}, completed_status_id=1114003, completed_pipeline_id=1114)
    widget = WidgetClient(installed)
    widget.put(f"/api/v1/deals/{LEAD}/schedule", PLAN)
    widget.post(f"/api/v1/deals/{LEAD}/full-payment", {"method": "cash"})

    drain(installed)

    lead = sandbox.account().leads[LEAD]
    assert (lead.status_id, lead.pipeline_id) == (1114003, 1114)


def test_invoice_and_failed_payment_events_become_notes_and_a_task_for_the_manager(installed, sandbox):
    from django.db import transaction

    from billing.events import INVOICE_ISSUED, PAYMENT_FAILED, publish

    deal = Deal.objects.create(account=installed, external_id=LEAD, responsible_user_id=8765434)
    with transaction.atomic():
        publish(account=installed, name=INVOICE_ISSUED, payload={
            "invoice_id": 1, "number": "2026-000004", "deal_id": deal.pk, "external_id": LEAD, "amount": "25000.00",
            "payment_url": "https://pay.example/o/1", "due_date": "2026-12-05"})
        publish(account=installed, name=PAYMENT_FAILED, payload={
            "invoice_id": 1, "number": "2026-000004", "deal_id": deal.pk, "external_id": LEAD, "amount": "25000.00",
            "reason": "Insufficient funds (5051)", "reason_code": 5051})

    drain(installed)

    invoice_note, failure_note = notes_of(sandbox, LEAD)
    assert invoice_note.startswith(
        "Выставлен счёт № 2026-000004 на 25\u00a0000,00\u00a0₽, срок оплаты 05.12.2026. "
        "Ссылка на оплату: https://pay.example/o/1 Счёт (PDF): https://payplan.test/documents/")
    assert "Страница клиента (график и оплата): https://payplan.test/p/" in invoice_note
    assert [failure_note] == [
        "Оплата по счёту № 2026-000004 на 25\u00a0000,00\u00a0₽ не прошла: Insufficient funds (5051)."]
    [task] = sandbox.account().tasks.values()
    assert (task.entity_id, task.entity_type, task.responsible_user_id) == (LEAD, "leads", 8765434)
    assert "Свяжитесь с клиентом" in task.text
    local_end = datetime.fromtimestamp(task.complete_till, ZoneInfo("Europe/Moscow"))
    assert (local_end.hour, local_end.minute) == (23, 59)
    assert CrmAction.objects.get(kind="create_task").crm_entity_id == task.id


def test_an_ip_block_pauses_the_whole_account_and_costs_no_attempt(installed, sandbox):
    for lead_id in (17651, 17652):
        note_action(installed, lead_id, "blocked")
    sandbox.limiter.blocked = True  # amoCRM's nginx answers everything with a 403 HTML page

    report = drain(installed)

    assert (report.released, report.stopped) == (2, "CrmBlocked")
    assert set(CrmAction.objects.values_list("state", "attempts")) == {("pending", 0)}
    assert drain(installed).stopped == "paused"  # nobody knocks again while the pause lasts
    assert len([entry for entry in sandbox.journal if entry.status == 403]) == 1


@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_after_commit_never_reaches_the_caller(account, monkeypatch):
    """The write is committed; the drain request failing (broker down) is logged, not raised."""
    from django.db import transaction

    from crm import outbox

    def broker_down(account_id):
        raise ConnectionError("broker down")

    monkeypatch.setattr(outbox, "_drain_enqueue", broker_down)
    with transaction.atomic():
        outbox.drain_after_commit(account.pk)
    # reaching this line is the assertion: the robust on-commit hook swallowed and logged the error
