"""The collections API: settings (admins), channel keys (write-only), a deal's reminders and actions,
the worklist; every error in the contract's body, every id scoped to the caller's account."""
from datetime import date
from decimal import Decimal

import pytest
import time_machine

from billing.dunning.models import CallOutcome, ChannelSettings, DunningLine, LadderDecision, StepRun
from billing.models import Deal
from billing.services.relay import events_relay_run
from crm.models import CrmAction
from tests.conftest import WidgetClient, assert_error
from tests.dunning.conftest import at, events, make_deal, tick

pytestmark = pytest.mark.django_db
LEAD = 7001


class AdminClient(WidgetClient):
    def headers(self, idempotency_key=None):
        from widget_api.tokens import token_mint

        return {"HTTP_X_AUTH_TOKEN": token_mint(account_id=self.account.crm_account_id,
                                                subdomain=self.account.slug, user_id=self.user_id,
                                                is_admin=True)}

    def patch(self, path, body):
        return self.send("patch", path, body)


@pytest.fixture
def admin(account):
    return AdminClient(account)


@pytest.fixture
def overdue_deal(account, provider):
    deal = make_deal(account, lead_id=LEAD)
    tick(at(account, "2026-12-05 18:30"))
    return deal


def test_settings_get_shows_the_default_ladder_and_buckets(widget):
    body = widget.get("/api/v1/account/dunning").json()
    assert body["custom"] is False
    assert [step["day"] for step in body["policy"]["steps"]] == [-3, 0, 0, 3, 3, 7, 30]
    assert body["buckets"][0] == "due_next_7_days"
    assert body["policy"]["cutoff_hour"] == 18


def test_settings_patch_merges_and_only_admins_write(admin, widget):
    assert_error(widget.send("patch", "/api/v1/account/dunning", {"cutoff_hour": 17}), 403, "admin_required")
    response = admin.patch("/api/v1/account/dunning", {
        "cutoff_hour": 17, "penalties": {"percent_per_day": "0.10", "cap": "5000.00"},
        "stages": {"overdue_1_30": {"status_id": 555, "pipeline_id": 777}}, "end_of_ladder": "lawyer"})
    assert response.status_code == 200, response.content
    policy = response.json()["policy"]
    assert (policy["cutoff_hour"], policy["quiet_start_hour"]) == (17, 21)  # the rest kept
    assert policy["penalties"]["percent_per_day"] == "0.10"
    assert policy["stages"] == {"overdue_1_30": {"status_id": 555, "pipeline_id": 777}}
    assert response.json()["custom"] is True


@pytest.mark.parametrize(("body", "field"), [
    ({"steps": [{"day": 0, "channel": "client_email"}, {"day": 0, "channel": "client_email"}]}, "steps.1.day"),
    ({"steps": [{"day": 3, "channel": "pigeon"}]}, "steps.0.channel"),
    ({"penalties": {"fixed": "900.00", "cap": "500.00"}}, "penalties.fixed"),
    ({"penalties": {"percent_per_day": "-1"}}, "penalties.percent_per_day"),
    ({"stages": {"overdue_9000": {"status_id": 1}}}, "stages.overdue_9000"),
    ({"cutoff_hour": 24}, "cutoff_hour"),
])
def test_a_nonsensical_ladder_is_a_422_naming_the_field_and_changes_nothing(admin, body, field):
    assert_error(admin.patch("/api/v1/account/dunning", body), 422, "invalid_ladder", field)
    assert admin.get("/api/v1/account/dunning").json()["custom"] is False


def test_old_reminders_setting_is_mapped_to_steps_until_a_ladder_is_saved(account, widget):
    account.settings = {**account.settings, "reminders": [{"day": -2, "action": "client_email"},
                                                          {"day": 5, "action": "client_reminder"}]}
    account.save(update_fields=["settings"])
    body = widget.get("/api/v1/account/dunning").json()
    assert [(step["day"], step["channel"]) for step in body["policy"]["steps"]] == [(-2, "client_email"),
                                                                                     (5, "client_sms")]
    assert body["legacy_reminders"] == [{"day": -2, "action": "client_email"}, {"day": 5, "action": "client_reminder"}]


def test_channel_keys_are_write_only(admin, widget, account):
    response = admin.put("/api/v1/account/dunning/channels",
                         {"channel": "sms", "secret": "api-id-123", "options": {"sender": "School"}})
    assert response.status_code == 200, response.content
    assert response.json()["channels"]["sms"] == {"enabled": True, "has_secret": True, "options": {"sender": "School"}}
    assert "api-id-123" not in response.content.decode()
    assert "api-id-123" not in widget.get("/api/v1/account/dunning").content.decode()
    assert ChannelSettings.objects.get(account=account).secret == "api-id-123"
    admin.put("/api/v1/account/dunning/channels", {"channel": "sms", "options": {}})
    assert ChannelSettings.objects.get(account=account).secret == "api-id-123"  # absent keeps the key
    assert_error(widget.put("/api/v1/account/dunning/channels", {"channel": "sms", "secret": "x"}), 403)
    assert_error(admin.put("/api/v1/account/dunning/channels", {"channel": "fax"}), 422, "validation_error",
                 "channel")


def test_provider_secret_options_are_write_only_and_kept_when_not_sent(admin, widget, account):
    response = admin.put("/api/v1/account/dunning/channels", {
        "channel": "telegram", "secret": "123:bot-token",
        "options": {"bot_username": "school_bot", "webhook_secret": "hook-secret-1"}})
    assert response.status_code == 200, response.content
    assert response.json()["channels"]["telegram"] == {
        "enabled": True, "has_secret": True, "webhook_secret_set": True, "options": {"bot_username": "school_bot"}}
    for path in ("/api/v1/account/dunning", "/api/v1/account/dunning/channels"):
        for client in (widget, admin):
            assert "hook-secret-1" not in client.get(path).content.decode()
            assert "123:bot-token" not in client.get(path).content.decode()
    # The widget sends the options it was shown: the webhook secret is not among them and stays stored.
    shown = admin.get("/api/v1/account/dunning/channels").json()["channels"]["telegram"]
    response = admin.put("/api/v1/account/dunning/channels",
                         {"channel": "telegram", "options": {**shown["options"], "bot_username": "new_bot"}})
    assert response.json()["channels"]["telegram"]["webhook_secret_set"] is True
    row = ChannelSettings.objects.get(account=account, channel="telegram")
    assert row.options == {"bot_username": "new_bot", "webhook_secret": "hook-secret-1"}
    assert row.secret == "123:bot-token"
    # Sent again: replaced; sent empty: cleared. Any other credential-looking option is masked too.
    admin.put("/api/v1/account/dunning/channels", {"channel": "telegram", "options": {"webhook_secret": "hook-2"}})
    assert ChannelSettings.objects.get(account=account, channel="telegram").options["webhook_secret"] == "hook-2"
    admin.put("/api/v1/account/dunning/channels", {"channel": "telegram", "options": {"webhook_secret": ""}})
    assert "webhook_secret" not in ChannelSettings.objects.get(account=account, channel="telegram").options
    response = admin.put("/api/v1/account/dunning/channels",
                         {"channel": "whatsapp", "options": {"phone_number_id": "42", "app_secret": "shh"}})
    assert response.json()["channels"]["whatsapp"]["options"] == {"phone_number_id": "42"}
    assert response.json()["channels"]["whatsapp"]["app_secret_set"] is True
    assert response.json()["channels"]["telegram"]["webhook_secret_set"] is False
    assert "shh" not in admin.get("/api/v1/account/dunning").content.decode()


def test_deal_dunning_shows_the_send_log_overdue_and_days_overdue(account, widget, overdue_deal):
    with time_machine.travel(at(account, "2026-12-08 12:00")):
        body = widget.get(f"/api/v1/deals/{LEAD}/dunning").json()
        card = widget.get(f"/api/v1/deals/{LEAD}").json()
    assert [(send["step_key"], send["status"]) for send in body["sends"]] == [
        ("-3:client_email", "skipped"), ("+0:client_email", "sent"), ("+0:manager_task", "sent")]
    assert body["overdue"][0]["outstanding"] == "25000.00"
    assert card["days_overdue"] == 3
    assert card["schedule"]["installments"][0]["days_overdue"] == 3
    assert card["schedule"]["installments"][1]["days_overdue"] == 0


def test_overdue_becomes_a_task_and_a_note_in_the_crm_outbox(account, overdue_deal):
    events_relay_run()  # the CRM feed runs after commit, in the relay
    kinds = list(CrmAction.objects.filter(deal=overdue_deal, source="installment_overdue")
                 .values_list("kind", flat=True))
    assert sorted(kinds) == ["add_note", "create_task"]
    task = CrmAction.objects.get(deal=overdue_deal, source="installment_overdue", kind="create_task")
    assert task.payload["responsible_user_id"] == 501
    assert task.payload["complete_till"] > 0
    assert task.payload["text"].startswith("Клиент Иванова Мария не оплатил(а) 25 000,00 ₽ по сроку 05.12.2026")
    manager_task = CrmAction.objects.get(deal=overdue_deal, source="reminder_sent", kind="create_task")
    assert manager_task.payload["responsible_user_id"] == 501


def test_promise_pauses_the_line(account, widget, overdue_deal):
    with time_machine.travel(at(account, "2026-12-06 10:00")):
        response = widget.post(f"/api/v1/deals/{LEAD}/dunning/promise", {"seq": 1, "date": "2026-12-20"})
    assert response.status_code == 200, response.content
    assert response.json()["lines"][0]["paused_until"] == "2026-12-20"
    tick(at(account, "2026-12-08 12:00"))  # the +3 SMS/WhatsApp would be due
    assert not StepRun.objects.filter(step_key__startswith="+3").exists()


def test_promise_in_the_past_or_for_an_unknown_line_is_refused(account, widget, overdue_deal):
    with time_machine.travel(at(account, "2026-12-06 10:00")):
        assert_error(widget.post(f"/api/v1/deals/{LEAD}/dunning/promise", {"seq": 1, "date": "2026-12-01"}),
                     422, "invalid_dunning_request", "date")
        assert_error(widget.post(f"/api/v1/deals/{LEAD}/dunning/promise", {"seq": 99, "date": "2026-12-20"}),
                     422, "invalid_dunning_request", "seq")
        assert_error(widget.post(f"/api/v1/deals/{LEAD}/dunning/promise", {"seq": 1}), 422, "validation_error",
                     "date")


def test_call_outcome_refused_escalates_at_once_to_the_lawyer(account, admin, widget, overdue_deal):
    admin.patch("/api/v1/account/dunning", {"lawyer_user_id": 909})
    with time_machine.travel(at(account, "2026-12-06 10:00")):
        response = widget.post(f"/api/v1/deals/{LEAD}/dunning/call-outcome", {"seq": 1, "outcome": "refused"})
    assert response.status_code == 200, response.content
    assert CallOutcome.objects.get().outcome == "refused"
    decision = LadderDecision.objects.get()
    assert (decision.decision, decision.debt) == ("lawyer", Decimal("75000.00"))
    [escalated] = events("deal_escalated")
    assert escalated["action"] == {"kind": "assign_user", "role": "lawyer", "user_id": 909}
    with time_machine.travel(at(account, "2026-12-06 10:01")):
        events_relay_run()  # the CRM feed runs after commit, in the relay
    update = CrmAction.objects.get(deal=overdue_deal, kind="update_lead")
    assert update.payload == {"responsible_user_id": 909}
    lawyer_task = CrmAction.objects.get(deal=overdue_deal, source="deal_escalated", kind="create_task")
    assert lawyer_task.payload["responsible_user_id"] == 909
    assert DunningLine.objects.get(seq=1).ladder_done_at is not None  # no more client messages
    assert Deal.objects.get(pk=overdue_deal.pk).debt == Decimal("75000.00")  # the debt stays


def test_call_outcome_promised_needs_a_date(account, widget, overdue_deal):
    with time_machine.travel(at(account, "2026-12-06 10:00")):
        assert_error(widget.post(f"/api/v1/deals/{LEAD}/dunning/call-outcome", {"seq": 1, "outcome": "promised"}),
                     422, "invalid_dunning_request", "date")
        ok = widget.post(f"/api/v1/deals/{LEAD}/dunning/call-outcome",
                         {"seq": 1, "outcome": "promised", "date": "2026-12-12"})
    assert ok.json()["lines"][0]["paused_until"] == "2026-12-12"
    assert ok.json()["calls"][0]["outcome"] == "promised"


def test_remind_now_sends_through_the_channel(account, widget, overdue_deal, provider,
                                             django_capture_on_commit_callbacks):
    with time_machine.travel(at(account, "2026-12-06 12:00")), django_capture_on_commit_callbacks(execute=True):
        response = widget.post(f"/api/v1/deals/{LEAD}/dunning/remind-now", {"seq": 1, "channel": "client_sms"})
    assert response.status_code == 202, response.content
    assert provider.sent[-1].recipient == "79123456789"
    assert widget.get(f"/api/v1/deals/{LEAD}/dunning").json()["sends"][-1]["channel"] == "client_sms"
    assert StepRun.objects.get(channel="client_sms").status == "sent"


def test_remind_now_waits_out_quiet_hours(account, widget, overdue_deal, provider):
    with time_machine.travel(at(account, "2026-12-06 23:00")):
        widget.post(f"/api/v1/deals/{LEAD}/dunning/remind-now", {"seq": 1, "channel": "client_sms"})
    run = StepRun.objects.get(channel="client_sms")
    assert run.status == "planned"
    assert run.send_after == at(account, "2026-12-07 09:00")
    assert provider.sent == []


def test_decision_write_off_is_a_record_not_a_deleted_debt(account, widget, overdue_deal):
    with time_machine.travel(at(account, "2026-12-06 10:00")):
        response = widget.post(f"/api/v1/deals/{LEAD}/dunning/decision",
                               {"decision": "write_off", "reason": "Клиент банкрот"})
    assert response.status_code == 201
    assert response.json()["decisions"][0]["decision"] == "write_off"
    overdue_deal.refresh_from_db()
    assert overdue_deal.debt == Decimal("75000.00")


def test_debtors_today_lists_overdue_lines_with_next_step(account, widget, overdue_deal):
    make_deal(account, lead_id=7002, first=date(2027, 1, 20), name="Петров Пётр")
    with time_machine.travel(at(account, "2026-12-06 10:00")):
        body = widget.get("/api/v1/analytics/debtors-today").json()
        soon = widget.get("/api/v1/analytics/debtors-today", bucket="overdue_31_90").json()
        assert_error(widget.get("/api/v1/analytics/debtors-today", bucket="nope"), 422, "validation_error", "bucket")
    assert body["count"] == 1
    [row] = body["results"]
    assert (row["lead_id"], row["client"], row["phone"], row["days_overdue"], row["remaining"]) == (
        LEAD, "Иванова Мария", "+7 (912) 345-67-89", 1, "25000.00")
    assert row["bucket"] == "overdue_1_30"
    assert row["last_contact_channel"] in ("client_email", "manager_task")
    assert row["next_step"] == {"day": 3, "channel": "client_sms", "date": "2026-12-08"}
    assert soon["count"] == 0


@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", "/api/v1/deals/{lead}/dunning", None),
    ("post", "/api/v1/deals/{lead}/dunning/promise", {"seq": 1, "date": "2026-12-20"}),
    ("post", "/api/v1/deals/{lead}/dunning/call-outcome", {"seq": 1, "outcome": "refused"}),
    ("post", "/api/v1/deals/{lead}/dunning/remind-now", {"seq": 1, "channel": "client_sms"}),
    ("post", "/api/v1/deals/{lead}/dunning/decision", {"decision": "write_off"}),
    ("post", "/api/v1/deals/{lead}/dunning/waive-fee", {"seq": 4, "reason": "x"}),
])
def test_another_accounts_lead_is_a_404_and_untouched(account, other_widget, overdue_deal, method, path, body):
    with time_machine.travel(at(account, "2026-12-06 10:00")):
        url = path.format(lead=LEAD)
        response = other_widget.get(url) if body is None else other_widget.post(url, body)
    assert_error(response, 404, "not_found")
    assert not CallOutcome.objects.exists()
    assert not LadderDecision.objects.exists()
    assert DunningLine.objects.get(seq=1).paused_until is None
    assert other_widget.get("/api/v1/analytics/debtors-today").json()["count"] == 0


def test_openapi_declares_the_error_envelope_on_the_new_operations(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/deals/{lead_id}/dunning/promise"]["post"]
    assert operation["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorEnvelope")
    assert "/api/v1/analytics/debtors-today" in schema["paths"]
    assert "patch" in schema["paths"]["/api/v1/account/dunning"]
