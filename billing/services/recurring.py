"""Open-ended recurring plans: the tick keeps lines a rolling horizon ahead (appended to the active version,
idempotently); a price change, a pause, a resume and a cancel are versioned events (a new schedule version
with the reason), and a price change applies from the next period."""
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.domain.money import ZERO, money
from billing.domain.plan_request import plan_request_from_dict
from billing.domain.recurring import LABEL, LineFact, RecurringTerms, dates_to_add, terms_from_request
from billing.domain.schedule import PlanError
from billing.errors import ApplicationError
from billing.events import PAYMENT_RECORDED, PLAN_EXTENDED, SCHEDULE_CHANGED, publish, subscribe
from billing.models import Account, Deal, DomainEvent, Installment, Schedule
from billing.services.deals import active_schedule, deal_cancel, deal_lock, deal_reallocate, deal_recompute
from billing.services.schedules import plan_error_message
from billing.time import account_today

ACTIONS = ("pause", "resume", "cancel", "price")
SUBSCRIPTION_REFUSALS = {
    "pause": gettext_lazy("Only a running subscription can be paused."),
    "resume": gettext_lazy("Only a paused subscription can be resumed."),
    "cancel": gettext_lazy("The subscription is already cancelled."),
    "price": gettext_lazy("A cancelled subscription has no price to change."),
}


def recurring_terms(schedule: Schedule) -> RecurringTerms:
    return _terms(schedule.request)


def _terms(stored: dict) -> RecurringTerms:
    request = plan_request_from_dict(stored)
    return terms_from_request(price=request.installment_amount, start_date=request.first_due_date,
                              period=request.period, every=request.every, due_day=request.due_day)


def recurring_state(schedule: Schedule) -> str:
    return schedule.request.get("state") or "active"


def _facts(lines) -> list[LineFact]:
    return [LineFact(line.due_date, line.amount, line.paid) for line in lines]


def _append(*, schedule: Schedule, terms: RecurringTerms, dates: list[date]) -> Decimal:
    """Append lines after the schedule's last seq; the version's total and debt grow with them."""
    if not dates:
        return ZERO
    last_seq = schedule.installments.aggregate(s=Max("seq"))["s"] or 0
    Installment.objects.bulk_create(
        Installment(schedule=schedule, seq=last_seq + index, kind=Installment.Kind.REGULAR, label=LABEL,
                    due_date=due, amount=terms.price) for index, due in enumerate(dates, start=1))
    added = terms.price * len(dates)
    Schedule.objects.filter(pk=schedule.pk).update(total=F("total") + added, debt=F("debt") + added)
    schedule.refresh_from_db(fields=["total", "debt"])
    return added


@transaction.atomic
def recurring_extend(*, deal: Deal, today: date) -> int:
    """Keep an active recurring plan's lines `HORIZON` unpaid periods ahead; the number of lines added
    (0 when it already is: a tick run twice adds nothing)."""
    deal = deal_lock(deal=deal)
    schedule = active_schedule(deal)
    if (schedule is None or schedule.plan != Schedule.Plan.RECURRING or recurring_state(schedule) != "active"
            or deal.cancelled_at is not None):
        return 0
    terms = recurring_terms(schedule)
    lines = list(Installment.objects.filter(schedule=schedule).order_by("seq"))
    dates = dates_to_add(terms, _facts(lines), today)
    if not dates:
        return 0
    _append(schedule=schedule, terms=terms, dates=dates)
    deal_reallocate(deal=deal, schedule=schedule)  # credit kept from earlier payments covers new lines
    deal_recompute(deal=deal, today=today)
    publish(account=deal.account, name=PLAN_EXTENDED, payload={
        "deal_id": deal.pk, "external_id": deal.external_id, "schedule_id": schedule.pk, "added": len(dates),
        "last_due_date": dates[-1].isoformat()})
    return len(dates)


def recurring_run(*, account: Account, today: date) -> int:
    """The tick's step: every active recurring plan of the account rolled forward."""
    deal_ids = (Schedule.objects.filter(deal__account=account, is_active=True, plan=Schedule.Plan.RECURRING,
                                        deal__cancelled_at__isnull=True)
                .values_list("deal_id", flat=True).order_by("deal_id"))
    return sum(recurring_extend(deal=deal, today=today)
               for deal in Deal.objects.filter(pk__in=list(deal_ids)).order_by("pk"))


def _on_payment_recorded(event: DomainEvent) -> None:
    """The next date advances after each payment: the horizon is refilled in the payment's transaction."""
    # One read when the plan is not open-ended (the common Pay): the deal is loaded only when it is.
    if not Schedule.objects.filter(deal_id=event.payload["deal_id"], is_active=True,
                                   plan=Schedule.Plan.RECURRING).exists():
        return
    deal = Deal.objects.select_related("account").get(pk=event.payload["deal_id"])
    recurring_extend(deal=deal, today=account_today(deal.account))


def register() -> None:
    subscribe(PAYMENT_RECORDED, _on_payment_recorded)


@transaction.atomic
def recurring_change(*, deal: Deal, action: str, price: Decimal | None = None, reason: str = "",
                     changed_by: int | None = None, today: date | None = None) -> Schedule | None:
    """Pause, resume, cancel or re-price an open-ended plan as a new version carrying the reason.

    Lines already due (today or before) and lines with money on them stay as they are; the rest follow the
    new terms from the next period. A cancel with nothing due yet cancels the deal (None is returned)."""
    deal = deal_lock(deal=deal)
    today = today or account_today(deal.account)
    previous = active_schedule(deal)
    if previous is None or previous.plan != Schedule.Plan.RECURRING:
        raise ApplicationError("not_recurring", _("The deal has no open-ended (recurring) plan."))
    if deal.cancelled_at is not None:
        raise ApplicationError("deal_cancelled", _("The deal is cancelled; its plan cannot change."))
    state = recurring_state(previous)
    refused = {"pause": state != "active", "resume": state != "paused", "cancel": state == "cancelled",
               "price": state == "cancelled"}
    if action not in ACTIONS:
        message = _("Choose an action: pause, resume, cancel or change the price.")
        raise ApplicationError("invalid_action", message, {"action": [message]})
    if refused[action]:
        message = str(SUBSCRIPTION_REFUSALS[action])
        raise ApplicationError("subscription_state", message, {"action": [message]})
    request = dict(previous.request)
    if action == "price":
        if price is None or money(price) <= ZERO:
            message = _("The price per period must be greater than zero.")
            raise ApplicationError("invalid_plan", message, {"price": [message]}, status=422)
        request["installment_amount"] = str(money(price))
    request["state"] = {"pause": "paused", "cancel": "cancelled"}.get(action, "active")
    request["reason"] = reason.strip()[:500]
    request["change"] = action
    try:
        terms = _terms(request)
    except PlanError as exc:
        message = plan_error_message(exc)
        raise ApplicationError("invalid_plan", message, {exc.field: [message]}) from exc
    old_lines = list(Installment.objects.filter(schedule=previous).order_by("seq"))
    kept = [line for line in old_lines if line.due_date <= today or line.paid > ZERO]
    if not kept and request["state"] != "active":
        if action == "cancel":
            deal_cancel(deal=deal, reason=reason or "Subscription cancelled before its first payment.")
            return None
        raise ApplicationError("subscription_not_started",
                               _("Nothing is due yet: cancel the subscription or change its first date instead."))
    Schedule.objects.filter(pk=previous.pk).update(is_active=False)
    version = (deal.schedules.aggregate(v=Max("version"))["v"] or 0) + 1
    kept_total = sum((line.amount for line in kept), ZERO)
    schedule = Schedule(deal=deal, version=version, is_active=True, plan=Schedule.Plan.RECURRING,
                        direction=previous.direction, total=kept_total, already_paid=ZERO, debt=kept_total,
                        request=request, autopay=previous.autopay, manager_id=previous.manager_id,
                        created_by=changed_by)
    if request["state"] == "active":
        dates = dates_to_add(terms, _facts(kept), today, not_before=today if action == "resume" else None)
        schedule.total = schedule.debt = kept_total + terms.price * len(dates)
    else:
        dates = []
    schedule.save()
    Installment.objects.bulk_create(
        [Installment(schedule=schedule, seq=index, kind=line.kind, label=line.label, due_date=line.due_date,
                     amount=line.amount) for index, line in enumerate(kept, start=1)]
        + [Installment(schedule=schedule, seq=len(kept) + index, kind=Installment.Kind.REGULAR, label=LABEL,
                       due_date=due, amount=terms.price) for index, due in enumerate(dates, start=1)])
    deal_reallocate(deal=deal, schedule=schedule)
    deal_recompute(deal=deal, today=today)
    publish(account=deal.account, name=SCHEDULE_CHANGED, payload={
        "deal_id": deal.pk, "external_id": deal.external_id, "schedule_id": schedule.pk, "version": version,
        "previous_schedule_id": previous.pk, "change": action, "reason": request["reason"]})
    return schedule
