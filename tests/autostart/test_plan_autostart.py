"""[J] Plans that start themselves: the template read against a deal's values, the trigger idempotent per deal
(a deal with a plan is left alone, with a note), a missing deal field named in the note, the stage gate, the
settings API's 422s, and the account's default early payment rule."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.domain.plan_autostart import DealValues, PlanTemplate, Stage, ValueSource, template_request
from billing.events import DEAL_STAGE_GATED, PLAN_AUTOSTART_NOTED
from billing.models import Deal, DealStage, DomainEvent, Payment, Schedule
from billing.services.accounts import account_settings_update
from billing.services.plan_autostart import deal_stage_observe
from tests.conftest import WidgetClient, assert_error

pytestmark = pytest.mark.django_db
TRIGGER, PAYING, NEW = Stage(1113004, 1113), Stage(1113005, 1113), Stage(1113002, 1113)
FIELD_COUNT, FIELD_FEE = 512360, 512361
RULES = {
    "enabled": True, "stage": {"pipeline_id": 1113, "status_id": 1113004},
    "template": {"plan": "equal", "total": {"source": "amount"},
                 "installments_count": {"source": "field", "field_id": FIELD_COUNT}, "period": "month",
                 "due_day": {"source": "fixed", "value": 10}, "first_due_in_days": 3,
                 "fees": [{"label": "Госпошлина", "amount": {"source": "fixed", "value": "4000"}}]},
    "gate": {"enabled": True, "status_ids": [1113005]},
}
VALUES = DealValues(amount="120000", fields={FIELD_COUNT: "6"}, field_names={FIELD_COUNT: "Число платежей"})
SETTINGS = "/api/v1/account/settings"


@pytest.fixture
def rules_account(account):
    return account_settings_update(account=account, settings={"plan_autostart": RULES})


def notes(name=PLAN_AUTOSTART_NOTED) -> list[dict]:
    return [event.payload for event in DomainEvent.objects.filter(name=name).order_by("id")]


class AdminClient(WidgetClient):
    def headers(self, idempotency_key=None):
        from widget_api.tokens import token_mint

        return {"HTTP_X_AUTH_TOKEN": token_mint(account_id=self.account.crm_account_id,
                                                subdomain=self.account.slug, user_id=self.user_id,
                                                is_admin=True)}


# --- the template -----------------------------------------------------------------------------------------
def test_the_template_reads_fixed_values_the_deal_amount_and_deal_fields():
    today = timezone.localdate()
    template = PlanTemplate(plan="annuity", total=ValueSource("field", field_id=7), installments_count=ValueSource(
        "fixed", 12), due_day=ValueSource("fixed", "last"), annual_rate=ValueSource("fixed", "12.5"))
    request = template_request(template=template, values=DealValues(fields={7: "160 000,50"}), today=today)
    assert (request.plan, request.total, request.installments_count, request.annual_rate) == (
        "annuity", Decimal("160000.50"), 12, Decimal("12.5"))
    assert request.first_due_date >= today
    assert request.due_day == "last"


# --- the trigger ----------------------------------------------------------------------------------------
def test_reaching_the_trigger_stage_builds_the_plan_once_and_a_second_trigger_only_notes(rules_account):
    deal = Deal.objects.create(account=rules_account, external_id=17655)
    DealStage.objects.create(deal=deal, status_id=NEW.status_id, pipeline_id=NEW.pipeline_id)

    outcome = deal_stage_observe(deal=deal, stage=TRIGGER, values=VALUES)

    assert outcome.result == "built"
    schedule = Schedule.objects.get(deal=deal, is_active=True)
    assert schedule.request["change"] == "autostart"
    lines = list(schedule.installments.order_by("seq"))
    assert sum(line.amount for line in lines) == Decimal("124000.00")
    assert [line.label for line in lines if line.kind == "extra"] == ["Госпошлина"]
    regular = [line for line in lines if line.kind == "regular"]
    assert len(regular) == 6
    assert {line.due_date.day for line in regular} == {10}
    assert regular[0].due_date >= timezone.localdate() + timedelta(days=3)
    assert notes()[-1]["result"] == "built"

    # The same report again (an update hook, a retried hook) changes nothing and says nothing.
    assert deal_stage_observe(deal=deal, stage=TRIGGER, values=VALUES).result == "unchanged"
    # Out of the stage and back in: the deal has a plan, so nothing changes, and a note says why.
    deal_stage_observe(deal=deal, stage=NEW, values=VALUES)
    again = deal_stage_observe(deal=deal, stage=TRIGGER, values=DealValues(amount="999999"))
    assert again.result == "has_plan"
    assert Schedule.objects.filter(deal=deal).count() == 1
    assert "уже есть график" in notes()[-1]["text"]


def test_a_missing_deal_field_builds_nothing_and_the_note_names_the_field(rules_account):
    deal = Deal.objects.create(account=rules_account, external_id=17656)

    outcome = deal_stage_observe(deal=deal, stage=TRIGGER, values=DealValues(
        amount="120000", fields={}, field_names={FIELD_COUNT: "Число платежей"}))

    assert outcome.result == "missing_value"
    assert not Schedule.objects.filter(deal=deal).exists()
    text = notes()[-1]["text"]
    assert "«Число платежей»" in text
    assert "не заполнено" in text


def test_a_deal_first_seen_without_a_reported_move_is_only_remembered(rules_account):
    deal = Deal.objects.create(account=rules_account, external_id=17657)
    assert deal_stage_observe(deal=deal, stage=TRIGGER, values=VALUES, stage_reported=False).result == "unchanged"
    assert not Schedule.objects.filter(deal=deal).exists()
    assert DealStage.objects.get(deal=deal).status_id == TRIGGER.status_id


# --- the gate -------------------------------------------------------------------------------------------
def test_a_deal_at_a_gated_stage_without_a_first_payment_goes_back_with_a_note(rules_account):
    deal = Deal.objects.create(account=rules_account, external_id=17658)
    DealStage.objects.create(deal=deal, status_id=TRIGGER.status_id, pipeline_id=TRIGGER.pipeline_id)

    outcome = deal_stage_observe(deal=deal, stage=PAYING, values=VALUES)

    assert outcome.result == "gated"
    move = notes(DEAL_STAGE_GATED)[-1]
    assert (move["status_id"], move["pipeline_id"]) == (TRIGGER.status_id, TRIGGER.pipeline_id)
    assert "первого платежа" in move["text"]
    # The echo of our own move (the CRM reports the deal back in the trigger stage) changes nothing.
    assert deal_stage_observe(deal=deal, stage=TRIGGER, values=VALUES).result == "unchanged"


def test_a_deal_with_its_first_payment_passes_the_gate(rules_account):
    deal = Deal.objects.create(account=rules_account, external_id=17659)
    DealStage.objects.create(deal=deal, status_id=TRIGGER.status_id, pipeline_id=TRIGGER.pipeline_id)
    Payment.objects.create(account=rules_account, deal=deal, amount=Decimal("20000"), method="cash",
                           paid_at=timezone.localdate())
    assert deal_stage_observe(deal=deal, stage=PAYING, values=VALUES).result == "nothing"
    assert not notes(DEAL_STAGE_GATED)


# --- the settings API -----------------------------------------------------------------------------------
def test_the_settings_api_stores_and_shows_the_rules(account):
    admin = AdminClient(account)
    response = admin.patch(SETTINGS, {"plan_autostart": RULES, "early_payoff_mode": "lower"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["plan_autostart"]["stage"] == {"pipeline_id": 1113, "status_id": 1113004}
    assert body["plan_autostart"]["template"]["fees"][0]["label"] == "Госпошлина"
    assert body["early_payoff_mode"] == "lower"


@pytest.mark.parametrize(("template", "field"), [
    ({"installments_count": {"source": "field"}}, "plan_autostart.template.installments_count.field_id"),
    ({"total": None}, "plan_autostart.template.total"),
    ({"annual_rate": {"source": "fixed", "value": "-1"}}, "plan_autostart.template.annual_rate"),
    ({"annual_rate": "1000.01"}, "plan_autostart.template.annual_rate"),
    ({"plan": "annuity", "installments_count": 6, "grace_periods": 6}, "plan_autostart.template.grace_periods"),
    ({"installments_count": {"source": "amount"}}, "plan_autostart.template.installments_count.source"),
])
def test_a_bad_template_is_a_422_naming_the_field(account, template, field):
    admin = AdminClient(account)
    body = {**RULES, "template": {**RULES["template"], **template}}
    error = assert_error(admin.patch(SETTINGS, {"plan_autostart": body}), 422, field=field)
    assert error["message"].startswith("Проверьте «")
    if "rate" in field:
        assert "1000 % годовых" in error["message"]


def test_the_gate_cannot_close_the_trigger_stage_itself(account):
    error = assert_error(AdminClient(account).patch(SETTINGS, {"plan_autostart": {
        **RULES, "gate": {"enabled": True, "status_ids": [1113004]}}}), 422, field="plan_autostart.gate.status_ids")
    assert "Этапы, закрытые до первого платежа" in error["message"]
    assert assert_error(AdminClient(account).patch(SETTINGS, {"early_payoff_mode": "half"}), 422,
                        field="early_payoff_mode")


# --- the early payment rule -------------------------------------------------------------------------------
def test_an_early_payment_without_a_choice_follows_the_accounts_rule(account, widget, school_plan):
    account_settings_update(account=account, settings={"early_payoff_mode": "lower"})
    assert widget.put("/api/v1/deals/31339/schedule", school_plan).status_code == 200
    unchosen = widget.post("/api/v1/deals/31339/early-payoff/preview", {"amount": "50000"})
    lower = widget.post("/api/v1/deals/31339/early-payoff/preview", {"amount": "50000", "mode": "lower"})
    shorten = widget.post("/api/v1/deals/31339/early-payoff/preview", {"amount": "50000", "mode": "shorten"})
    assert unchosen.status_code == 200, unchosen.content
    assert unchosen.json()["installments"] == lower.json()["installments"] != shorten.json()["installments"]

    applied = widget.post("/api/v1/deals/31339/early-payoff", {"amount": "50000"}, idempotency_key="payoff-1")
    assert applied.status_code == 200, applied.content
    assert Schedule.objects.get(deal__external_id=31339, is_active=True).request["change"] == "early_payoff_lower"


def test_a_plans_own_early_payment_rule_beats_the_accounts_and_survives_the_payoff(account, widget, school_plan):
    assert widget.put("/api/v1/deals/31340/schedule", {**school_plan, "payoff_mode": "lower"}).status_code == 200
    unchosen = widget.post("/api/v1/deals/31340/early-payoff/preview", {"amount": "50000"})
    lower = widget.post("/api/v1/deals/31340/early-payoff/preview", {"amount": "50000", "mode": "lower"})
    assert unchosen.json()["installments"] == lower.json()["installments"]
    assert unchosen.json()["request"]["payoff_mode"] == "lower"  # the new version keeps the plan's rule
    assert widget.put("/api/v1/deals/31340/schedule", {**school_plan, "payoff_mode": "half"}).status_code == 422


def test_the_demo_account_builds_the_plan_of_its_deal_without_one_at_the_trigger_stage(db):
    from billing.demo import DEMO_GATED_STATUS_ID, DEMO_TRIGGER_PIPELINE_ID, DEMO_TRIGGER_STATUS_ID, demo_account_load
    from billing.services.plan_autostart import autostart_watched_status_ids

    account, _ = demo_account_load()
    assert autostart_watched_status_ids(account=account) == {DEMO_TRIGGER_STATUS_ID, DEMO_GATED_STATUS_ID}
    deal = Deal.objects.get(account=account, external_id=17658)
    outcome = deal_stage_observe(deal=deal, stage=Stage(DEMO_TRIGGER_STATUS_ID, DEMO_TRIGGER_PIPELINE_ID),
                                 values=DealValues(amount="54000"))
    assert outcome.result == "built"
    assert Schedule.objects.get(deal=deal, is_active=True).installments.count() == 6
