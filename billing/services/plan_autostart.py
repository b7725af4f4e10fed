"""[J] Plans that start themselves: a deal reaching the account's trigger stage gets its plan from the template,
and a deal reaching a stage closed until the first payment goes back, each with a note on the deal.

CRM-neutral: the CRM adapter reports a deal's current stage and values (`deal_stage_observe`); the notes and
the move back go out through the event relay (PLAN_AUTOSTART_NOTED, DEAL_STAGE_GATED). Idempotent per deal:
the stage PayPlan last saw (or moved the deal to) is kept (DealStage), so a repeated report, an update of
something else, or the echo of our own move changes nothing; a trigger on a deal that already has a plan
changes nothing either, and says so in a note.
"""
import logging
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from billing.domain.plan_autostart import (
    DealValues,
    Stage,
    TemplateValueMissing,
    rules_read,
    stage_decide,
    template_request,
)
from billing.domain.schedule import PlanError
from billing.errors import ApplicationError
from billing.events import DEAL_STAGE_GATED, PLAN_AUTOSTART_NOTED, publish
from billing.models import Account, Deal, DealStage, Payment
from billing.services.deals import active_schedule, deal_lock
from billing.services.schedules import ScheduleOptions, plan_error_message, schedule_replace
from billing.texts import in_account_language, money_text
from billing.time import account_today

logger = logging.getLogger(__name__)

VALUE_WORDS = {
    "total": gettext_noop("the amount"), "down_payment": gettext_noop("the down payment"),
    "installments_count": gettext_noop("the number of payments"), "due_day": gettext_noop("the day of the month"),
    "annual_rate": gettext_noop("the annual rate"), "grace_periods": gettext_noop("the grace period"),
}
FEE_WORDS = gettext_noop("a fee line's amount")


@dataclass(frozen=True)
class StageOutcome:
    """`result`: built, has_plan, missing_value, invalid_template, gated, unchanged, nothing."""

    result: str
    text: str = ""
    schedule_id: int | None = None


def autostart_watched_status_ids(*, account: Account) -> frozenset[int | str]:
    """Stages in which a deal PayPlan has never seen matters (the CRM adapter creates its deal)."""
    return rules_read(account.settings).watched_status_ids


def deal_stage_observe(*, deal: Deal, stage: Stage, values: DealValues, stage_reported: bool = True,
                       today: date | None = None) -> StageOutcome:
    """The CRM says the deal is now in `stage`. Acts only on a change from the stage last seen; a deal seen
    for the first time counts as a change when the CRM reported a stage move (`stage_reported`)."""
    with transaction.atomic():
        deal = deal_lock(deal=deal)
        account = deal.account
        seen = DealStage.objects.filter(deal=deal).first()
        previous = Stage(seen.stage_id, seen.pipeline_id) if seen else None
        if previous == stage or (previous is None and not stage_reported):
            _remember(deal, seen, stage)
            return StageOutcome("unchanged")
        _remember(deal, seen, stage)
        if deal.cancelled_at is not None:
            return StageOutcome("nothing")
        rules = rules_read(account.settings)
        paid = deal.payments.filter(amount__gt=0).exclude(method=Payment.Method.OPENING_BALANCE).exists() \
            or deal.paid > 0
        decision = stage_decide(rules=rules, stage=stage, previous=previous, first_payment=paid)
        with in_account_language(account):
            if decision.build:
                return _build(deal, rules.template, values, today or account_today(account))
            if decision.gate_back_to is not None:
                target = decision.gate_back_to
                text = _("The deal went back to its previous stage: this stage opens after the first payment, "
                         "and none is recorded yet.")
                publish(account=account, name=DEAL_STAGE_GATED, payload={
                    "deal_id": deal.pk, "status_id": target.status_id,
                    "pipeline_id": target.pipeline_id or stage.pipeline_id, "text": text})
                _remember(deal, DealStage.objects.get(deal=deal), Stage(target.status_id,
                                                                        target.pipeline_id or stage.pipeline_id))
                return StageOutcome("gated", text)
    return StageOutcome("nothing")


def _remember(deal: Deal, seen: DealStage | None, stage: Stage) -> None:
    code = stage.status_id if isinstance(stage.status_id, str) else ""
    number = 0 if code else stage.status_id
    if seen is None:
        DealStage.objects.create(deal=deal, status_id=number, status_code=code, pipeline_id=stage.pipeline_id)
    elif (seen.stage_id, seen.pipeline_id) != (stage.status_id, stage.pipeline_id):
        seen.status_id, seen.status_code, seen.pipeline_id = number, code, stage.pipeline_id
        seen.save(update_fields=["status_id", "status_code", "pipeline_id", "updated_at"])


def _note(deal: Deal, result: str, text: str) -> StageOutcome:
    publish(account=deal.account, name=PLAN_AUTOSTART_NOTED, payload={"deal_id": deal.pk, "result": result,
                                                                       "text": text})
    return StageOutcome(result, text)


def _build(deal: Deal, template, values: DealValues, today: date) -> StageOutcome:
    """Caller holds the deal lock, in the account's language."""
    current = active_schedule(deal)
    if current is not None:
        return _note(deal, "has_plan", _(
            "The plan was not built from the template: the deal already has a plan (version %(version)s), "
            "and it is left as it is.") % {"version": current.version})
    try:
        request = template_request(template=template, values=values, today=today)
    except TemplateValueMissing as exc:
        return _note(deal, "missing_value", missing_value_text(exc, values))
    try:
        with transaction.atomic():
            schedule = schedule_replace(deal=deal, plan_request=request, options=ScheduleOptions(), created_by=None,
                                        today=today, change="autostart",
                                        reason="the deal reached the stage that builds the plan")
    except (ApplicationError, PlanError) as exc:
        message = exc.message if isinstance(exc, ApplicationError) else plan_error_message(exc)
        return _note(deal, "invalid_template", _("The plan was not built from the template: %(problem)s") % {
            "problem": message})
    outcome = _note(deal, "built", _(
        "The plan was built from the template when the deal reached this stage: %(count)s payments, "
        "%(total)s in all.") % {"count": request.installments_count,
                                "total": money_text(schedule.debt, deal.account.currency)})
    return StageOutcome("built", outcome.text, schedule.pk)


def missing_value_text(exc: TemplateValueMissing, values: DealValues) -> str:
    """«План не создан: в сделке не заполнено поле «Сумма договора» (сумма плана).»"""
    what = _(VALUE_WORDS.get(exc.key, FEE_WORDS))
    if exc.source.source == "field":
        where = _("the deal field «%(field)s»") % {"field": values.field_name(exc.source.field_id)}
    elif exc.source.source == "amount":
        where = _("the deal's amount")
    else:
        where = _("the template")
    if exc.reason == "not_a_number":
        return _("The plan was not built from the template: %(where)s (%(what)s) is not a number.") % {
            "where": where, "what": what}
    return _("The plan was not built from the template: %(where)s (%(what)s) is empty.") % {
        "where": where, "what": what}
