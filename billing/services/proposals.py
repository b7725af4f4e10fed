"""Plans the client approves: a manager's restructuring proposal, and the client's own early payoff.

A proposal is made against the active version; approving it makes its plan the next version (through
schedule_replace, so payments are re-allocated and live invoices synced as for any rebuild). It is refused
when it has expired, was withdrawn by a newer proposal, or the plan changed since (superseded). Either
answer is an event: the CRM adapter gives the manager a task.
"""
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.domain.early_payoff import (
    CurrentLine,
    InterestPlanTerms,
    Payoff,
    PayoffError,
    interest_payoff_plan,
    payoff_plan,
)
from billing.domain.interest import INTEREST_KINDS
from billing.domain.money import ZERO
from billing.domain.plan_autostart import PAYOFF_MODES, payoff_mode_read
from billing.domain.plan_request import plan_request_from_dict
from billing.domain.schedule import DEFAULT_LABELS, CustomItem, DownPayment, ExtraCharge, PlanRequest
from billing.errors import ApplicationError, NotFound
from billing.events import SCHEDULE_PROPOSAL_DECIDED, SCHEDULE_PROPOSED, publish
from billing.models import Account, Deal, Installment, Schedule, ScheduleProposal
from billing.selectors.schedule_changes import proposal_changes_get
from billing.services.deals import active_schedule, deal_lock
from billing.services.schedules import ScheduleOptions, plan_preview, schedule_replace, schedule_request_full

Status = ScheduleProposal.Status


def proposal_expiry_days(account: Account) -> int:
    """The account's `proposal_expiry_days` (1..90), else the installation default (7)."""
    try:
        days = int(account.settings.get("proposal_expiry_days") or settings.PAYPLAN_PROPOSAL_EXPIRY_DAYS)
    except (TypeError, ValueError):
        days = settings.PAYPLAN_PROPOSAL_EXPIRY_DAYS
    return min(max(days, 1), 90)


def options_of(*, deal: Deal, schedule: Schedule) -> ScheduleOptions:
    return ScheduleOptions(direction=schedule.direction, group=deal.group,
                           education_direction=deal.education_direction, autopay=schedule.autopay,
                           manager_id=schedule.manager_id,
                           payoff_mode=(schedule.request or {}).get("payoff_mode") or "")


def options_from_request(request: dict) -> ScheduleOptions:
    return ScheduleOptions(direction=request.get("direction") or "incoming", group=request.get("group") or "",
                           education_direction=request.get("education_direction") or "",
                           autopay=bool(request.get("autopay")), manager_id=request.get("manager_id"),
                           payoff_mode=request.get("payoff_mode") or "")


@transaction.atomic
def proposal_create(*, deal: Deal, plan_request: PlanRequest, options: ScheduleOptions, proposed_by: int | None,
                    kind: str = ScheduleProposal.Kind.RESTRUCTURE) -> ScheduleProposal:
    """Offer the client a new plan; an older pending proposal of the deal is withdrawn (one question at a time)."""
    plan = plan_preview(plan_request=plan_request)
    deal = deal_lock(deal=deal)
    if deal.cancelled_at is not None:
        raise ApplicationError("deal_cancelled", _("The deal is cancelled; its plan cannot change."))
    base = active_schedule(deal)
    if base is None:
        raise ApplicationError("no_plan", _("The deal has no plan yet: build one first."))
    changes = proposal_changes_get(deal=deal, plan=plan, options=options)
    if changes is not None and changes.unchanged:
        raise ApplicationError("plan_unchanged", _("This plan is the same as the current one."))
    now = timezone.now()
    ScheduleProposal.objects.filter(deal=deal, status=Status.PENDING).update(status=Status.WITHDRAWN, decided_at=now)
    proposal = ScheduleProposal.objects.create(
        account=deal.account, deal=deal, kind=kind, base_schedule=base, proposed_by=proposed_by,
        request=schedule_request_full(plan_request=plan_request, options=options),
        expires_at=now + timedelta(days=proposal_expiry_days(deal.account)))
    publish(account=deal.account, name=SCHEDULE_PROPOSED, payload={
        "deal_id": deal.pk, "external_id": deal.external_id, "proposal_id": proposal.pk,
        "expires_at": proposal.expires_at.isoformat(), "proposed_by": proposed_by})
    return proposal


def proposal_state(proposal: ScheduleProposal, now: datetime | None = None) -> str:
    """pending | approved | declined | withdrawn | expired | superseded (derived: nothing stores the last two)."""
    if proposal.status != Status.PENDING:
        return proposal.status
    if proposal.expires_at <= (now or timezone.now()):
        return "expired"
    if not Schedule.objects.filter(pk=proposal.base_schedule_id, is_active=True).exists():
        return "superseded"
    return "pending"


REFUSALS = {
    "expired": ("proposal_expired", "This proposal has expired. Ask your manager for a new one."),
    "superseded": ("proposal_superseded", "Your plan has changed since this proposal was made: it no longer applies."),
    "withdrawn": ("proposal_superseded", "The manager has replaced this proposal with a newer one."),
    "approved": ("proposal_decided", "You have already approved this proposal."),
    "declined": ("proposal_decided", "You have already declined this proposal."),
}


@transaction.atomic
def proposal_decide(*, deal: Deal, proposal_id: int, approve: bool, decided_by: str, today: date) -> ScheduleProposal:
    """The client's answer. Approval makes the proposed plan the active version; both answers reach the manager."""
    deal = deal_lock(deal=deal)
    proposal = ScheduleProposal.objects.select_for_update().filter(pk=proposal_id, deal=deal).first()
    if proposal is None:
        raise NotFound("proposal_not_found", _("No such proposal."))
    state = proposal_state(proposal)
    if state != "pending":
        code, message = REFUSALS[state]
        raise ApplicationError(code, _(message))
    proposal.decided_at, proposal.decided_by = timezone.now(), decided_by[:255]
    if approve:
        schedule = schedule_replace(deal=deal, plan_request=plan_request_from_dict(proposal.request),
                                    options=options_from_request(proposal.request), created_by=None, today=today)
        proposal.status, proposal.schedule = Status.APPROVED, schedule
    else:
        proposal.status = Status.DECLINED
    proposal.save(update_fields=["status", "schedule", "decided_at", "decided_by"])
    publish(account=deal.account, name=SCHEDULE_PROPOSAL_DECIDED, payload={
        "deal_id": deal.pk, "external_id": deal.external_id, "proposal_id": proposal.pk, "approved": approve,
        "kind": proposal.kind, "decided_by": proposal.decided_by, "decided_at": proposal.decided_at.isoformat(),
        "version": proposal.schedule.version if proposal.schedule else None,
        "proposed_by": proposal.proposed_by})
    return proposal


# --- early payoff --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EarlyPayoff:
    plan_request: PlanRequest
    options: ScheduleOptions
    payoff: Payoff


def early_payoff_build(*, deal: Deal, amount, mode: str, today: date) -> EarlyPayoff:
    """The plan after a lump sum of `amount` paid now, shortened or lowered; stores nothing. No `mode`
    (blank): the account's rule (`early_payoff_mode`, «сократить срок» unless it chose otherwise)."""
    mode = payoff_mode_of(deal=deal, mode=mode)
    schedule = active_schedule(deal)
    if schedule is None or deal.cancelled_at is not None:
        raise ApplicationError("no_plan", _("There is no active plan to pay off."))
    # Late fees are no part of a plan request: schedule_replace carries them over as they are.
    lines = [CurrentLine(line.due_date, line.amount, line.paid, line.kind, line.label, line.interest)
             for line in schedule.installments.exclude(kind=Installment.Kind.FEE).order_by("seq")]
    terms = _interest_terms(schedule)
    try:
        payoff = (payoff_plan(lines=lines, lump_sum=amount, mode=mode, today=today) if terms is None else
                  interest_payoff_plan(lines=lines, lump_sum=amount, mode=mode, today=today, terms=terms))
    except PayoffError as exc:
        message = _payoff_message(exc, deal.account.currency)
        raise ApplicationError("invalid_payoff", message, {exc.field: [message]}) from exc
    except (ValueError, ArithmeticError) as exc:
        raise ApplicationError("invalid_payoff", _("Enter the amount in roubles, e.g. 30000."),
                               {"amount": [_("Enter the amount in roubles, e.g. 30000.")]}) from exc
    request = payoff_request(items=payoff.items, already_paid=schedule.already_paid)
    if terms is not None:  # the interest terms go along, so the next early payoff recomputes the same way
        request = replace(request, interest_plan=terms.kind, annual_rate=terms.annual_rate,
                          day_count=terms.day_count, period=terms.period, start_date=terms.start_date)
    return EarlyPayoff(plan_request=request, options=options_of(deal=deal, schedule=schedule), payoff=payoff)


def payoff_mode_of(*, deal: Deal, mode: str | None) -> str:
    """[J] The mode chosen; when nobody chose (blank or absent), the active plan's own rule, else the account's."""
    if mode:
        return mode
    schedule = active_schedule(deal)
    return (schedule.request or {}).get("payoff_mode") if schedule is not None and (schedule.request or {}).get(
        "payoff_mode") in PAYOFF_MODES else payoff_mode_read(deal.account.settings)


def payoff_request(*, items, already_paid) -> PlanRequest:
    """The custom plan of the payoff's items, each line in its own kind: the down payment as the down payment,
    extra charges (a state fee...) with their labels, the rest as the plan's rows. A piece the engine cannot
    take in its kind (a second or late down payment; no regular row left) becomes a regular row of its day."""
    regular = [item for item in items if item.kind == "regular"]
    downs = sorted((item for item in items if item.kind == "down_payment"), key=lambda item: item.due_date)
    extras = [item for item in items if item.kind == "extra"]
    down = None
    if downs:  # a partly paid down payment: its paid part stays the down payment, the rest is due with the lump
        regular += downs[1:]
        if regular and downs[0].due_date <= min(item.due_date for item in regular):
            down = downs[0]
        else:
            regular.append(downs[0])
    if not regular and extras:
        regular.append(extras.pop())
    by_day: dict[date, tuple[Decimal, Decimal]] = {}
    for item in regular:
        amount, interest = by_day.get(item.due_date, (ZERO, ZERO))
        by_day[item.due_date] = (amount + item.amount, interest + item.interest)
    charges = tuple(ExtraCharge("" if item.label == DEFAULT_LABELS["extra"] else item.label, item.amount,
                                item.due_date) for item in extras)
    rows = tuple(CustomItem(day, amount, interest) for day, (amount, interest) in sorted(by_day.items()))
    principal = sum((item.amount - item.interest for item in items), ZERO)
    total = already_paid + principal - sum((item.amount for item in charges), ZERO)
    return PlanRequest(plan="custom", total=total, already_paid=already_paid, first_due_date=rows[0].due_date,
                       down_payment=DownPayment(down.amount, down.due_date) if down else None,
                       extra_charges=charges, items=rows)


def _interest_terms(schedule: Schedule) -> InterestPlanTerms | None:
    """How the active version charges interest, from its stored request; None: a plan without interest."""
    request = schedule.request or {}
    kind = request.get("plan") if request.get("plan") in INTEREST_KINDS else request.get("interest_plan")
    if kind not in INTEREST_KINDS or not request.get("start_date"):
        return None
    return InterestPlanTerms(kind=kind, annual_rate=Decimal(str(request.get("annual_rate") or "0")),
                             day_count=request.get("day_count") or "actual/365",
                             period=request.get("period") or "month",
                             start_date=date.fromisoformat(request["start_date"]))


def _payoff_message(exc: PayoffError, currency: str) -> str:
    # Grouped by thin spaces, a decimal comma: «12 000,00 ₽» as everywhere the client reads money.
    limit = ""
    if exc.limit is not None:
        digits = f"{exc.limit:,.2f}".replace(",", "\u00a0").replace(".", ",")
        limit = f"{digits}\u00a0{'₽' if currency == 'RUB' else currency}"
    return {
        "mode": _("Choose how to use the payment: shorten the term or lower the payments."),
        "nothing_left": _("Nothing is left to pay."),
        "below_minimum": _("The payment must be at least %(amount)s (what is due by then).") % {"amount": limit},
        "above_maximum": _("The payment cannot exceed what is left to pay, %(amount)s.") % {"amount": limit},
    }[exc.reason]


def early_payoff_apply(*, deal: Deal, amount, mode: str, today: date, created_by: int | None,
                       expected_version: int | None = None) -> Schedule:
    """Make the early-payoff plan the active version (the client accepted its preview, or the manager did).
    `expected_version`: the version the preview was made against; another one active now → 409."""
    with transaction.atomic():
        deal = deal_lock(deal=deal)
        current = active_schedule(deal)
        if expected_version is not None and (current is None or current.version != expected_version):
            raise ApplicationError("plan_changed", _("The plan changed while you were looking: check the new one."),
                                   status=409)
        mode = payoff_mode_of(deal=deal, mode=mode)
        built = early_payoff_build(deal=deal, amount=amount, mode=mode, today=today)
        payoff = built.payoff
        return schedule_replace(deal=deal, plan_request=built.plan_request, options=built.options,
                                created_by=created_by, today=today, change=f"early_payoff_{mode}",
                                reason=f"{payoff.lump_amount} on {payoff.lump_date.isoformat()}")
