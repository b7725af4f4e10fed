"""Making a plan the deal's active schedule: a new version, payments re-allocated onto it."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Sum
from django.utils.translation import gettext as _

from billing.domain.money import ZERO
from billing.domain.plan_request import plan_request_as_dict
from billing.domain.schedule import PlanError, PlanRequest, plan_build
from billing.errors import ApplicationError
from billing.events import SCHEDULE_CHANGED, publish
from billing.models import Deal, Direction, Installment, Payment, Schedule
from billing.selectors.schedule_changes import plan_with_fees_kept, schedule_changes_get
from billing.services.deals import active_schedule, deal_lock, deal_reallocate, deal_recompute
from billing.texts import in_account_language, money_text


@dataclass(frozen=True)
class ScheduleOptions:
    direction: str = Direction.INCOMING
    group: str = ""
    education_direction: str = ""
    autopay: bool = False
    manager_id: int | None = None
    requisites: str = ""  # an outgoing plan's recipient requisites, for the accountant's payout tasks
    payoff_mode: str = ""  # [J] what an early payment does on this plan ("": the account's rule)


def plan_preview(*, plan_request: PlanRequest):
    """Compute a plan without storing anything; PlanError becomes the contract's 422."""
    try:
        return plan_build(plan_request)
    except PlanError as exc:
        message = plan_error_message(exc)
        raise ApplicationError("invalid_plan", message, {exc.field: [message]}) from exc


def plan_error_message(exc: PlanError) -> str:
    """The engine's English message from the catalogue, amounts written as money («160 000,00 ₽»)."""
    params = {key: money_text(value) if isinstance(value, Decimal) else value for key, value in exc.params.items()}
    return _(exc.template) % params if params else _(exc.template)


def schedule_request_full(*, plan_request: PlanRequest, options: ScheduleOptions) -> dict:
    """The request a version stores: every field of the contract, defaults filled, so a rebuild opens
    with exactly this plan."""
    return {**plan_request_as_dict(plan_request), "direction": options.direction, "group": options.group,
            "education_direction": options.education_direction, "autopay": options.autopay,
            "manager_id": options.manager_id} | ({"payoff_mode": options.payoff_mode} if options.payoff_mode else {})


@transaction.atomic
def schedule_replace(*, deal: Deal, plan_request: PlanRequest, options: ScheduleOptions,
                     created_by: int | None, today: date, request_data: dict | None = None, change: str = "",
                     reason: str = "") -> Schedule:
    """Make `plan_request` the deal's active plan as a new version; the old version is kept as history.
    Late fees of the active version are not in any request: they are carried over onto the new version.

    A plan identical to the active one (same lines, totals and options) changes nothing: the active
    version is returned and no new one is made. `request_data` is accepted for old callers and ignored:
    the version stores the complete, normalised request. `change` and `reason` (e.g. an early payoff: the
    mode, the lump sum and its date) are kept in the new version's request and its event."""
    requested = plan_preview(plan_request=plan_request)
    deal = deal_lock(deal=deal)
    if deal.cancelled_at is not None:
        raise ApplicationError("deal_cancelled", _("The deal is cancelled; its plan cannot change."))
    plan, fee_moves = plan_with_fees_kept(deal=deal, plan=requested, direction=options.direction)
    changes = schedule_changes_get(deal=deal, plan=plan, options=options)
    if changes is not None and changes.unchanged:
        return active_schedule(deal)
    recorded = deal.payments.exclude(method=Payment.Method.OPENING_BALANCE).aggregate(s=Sum("amount"))["s"] or ZERO
    if recorded > plan.debt:
        currency = deal.account.currency
        message = _("Payments of %(recorded)s are already recorded, more than this plan's debt of %(debt)s.") % {
            "recorded": money_text(recorded, currency), "debt": money_text(plan.debt, currency)}
        raise ApplicationError("plan_below_paid", message, {"total": [message]})
    previous = active_schedule(deal)
    if previous is not None:
        Schedule.objects.filter(pk=previous.pk).update(is_active=False)
    version = (deal.schedules.aggregate(v=Max("version"))["v"] or 0) + 1
    schedule = Schedule.objects.create(
        deal=deal, version=version, is_active=True, plan=plan_request.plan, direction=options.direction,
        total=plan.total, already_paid=plan.already_paid, debt=plan.debt,
        request=schedule_request_full(plan_request=plan_request, options=options)
        | ({"change": change, "reason": reason[:500]} if change else {}),
        autopay=options.autopay, manager_id=options.manager_id, created_by=created_by,
    )
    Installment.objects.bulk_create(
        Installment(schedule=schedule, seq=line.seq, kind=line.kind, label=line.label,
                    due_date=line.due_date, amount=line.amount, interest=line.interest)
        for line in plan.installments
    )
    _opening_balance_sync(deal=deal, already_paid=plan.already_paid, recorded_by=created_by, today=today)
    deal.direction, deal.group, deal.education_direction, deal.payout_requisites = (
        options.direction, options.group, options.education_direction, options.requisites)
    deal.save(update_fields=["direction", "group", "education_direction", "payout_requisites", "updated_at"])
    deal_reallocate(deal=deal, schedule=schedule)
    deal_recompute(deal=deal)
    publish(account=deal.account, name=SCHEDULE_CHANGED, payload={
        "deal_id": deal.pk, "external_id": deal.external_id, "schedule_id": schedule.pk, "version": version,
        "previous_schedule_id": previous.pk if previous else None,
        # Late fees carried over from the previous version, where their line number changed (old → new).
        "fee_seq_moves": {str(old): new for old, new in fee_moves.items() if old != new},
    } | ({"change": change, "reason": reason[:500]} if change else {}))
    return schedule


def _opening_balance_sync(*, deal: Deal, already_paid, recorded_by: int | None, today: date) -> None:
    """Record what was received before PayPlan once; a later plan with another figure adds the difference."""
    opening = deal.payments.filter(method=Payment.Method.OPENING_BALANCE).aggregate(s=Sum("amount"))["s"] or ZERO
    difference = already_paid - opening
    if difference != ZERO:
        with in_account_language(deal.account):
            comment = _("Received before the plan") if opening == ZERO else _("Opening balance corrected")
        Payment.objects.create(
            account=deal.account, deal=deal, amount=difference, method=Payment.Method.OPENING_BALANCE,
            paid_at=today, recorded_by=recorded_by,
            comment=comment,
        )
