"""What a manager does from the deal card or the worklist: a promise, a call's outcome, a reminder now,
hand to the lawyer / remind monthly / write off. Each is one transaction and an event for the CRM."""
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from billing.dunning import domain
from billing.dunning.events import CLIENT_ANSWERED, DEAL_ESCALATED
from billing.dunning.models import CallOutcome, DunningLine, LadderDecision, StepRun
from billing.dunning.selectors import current_installment, policy_get
from billing.dunning.services import aware, client_name, line_promise_record, local_now, say
from billing.errors import ApplicationError, NotFound
from billing.events import publish
from billing.jobs import job_enqueue
from billing.models import Account, Deal, Direction, Installment
from billing.texts import date_text, in_account_language, plain_money_text

CALL_TEXTS = {
    "reached": gettext_lazy("Reached the client {client}."),
    "no_answer": gettext_lazy("The client {client} did not answer the call."),
    "wrong_number": gettext_lazy("The client {client} has a wrong phone number."),
    "promised": gettext_lazy("The client {client} promised to pay {amount} by {date}."),
    "refused": gettext_lazy("The client {client} refused to pay. The debt of {debt} is handed to the lawyer."),
}
DECISION_TEXTS = {
    "lawyer": gettext_lazy("The debt of {debt} of the client {client} is handed to the lawyer."),
    "monthly": gettext_lazy("The debt of {debt} of the client {client}: remind monthly."),
    "write_off": gettext_lazy("The debt of {debt} of the client {client} is marked for write-off (the decision is "
                              "recorded, the debt is not deleted)."),
}

STOPPED_TEXTS = {"lawyer": gettext_noop("Stopped: the debt is handed to the lawyer"),
                 "write_off": gettext_noop("Stopped: the debt is marked for write-off")}


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError("invalid_dunning_request", message, {field: [message]})


def deal_for_lead(*, account: Account, external_id: int) -> Deal:
    deal = Deal.objects.select_related("account").filter(account=account, external_id=external_id).first()
    if deal is None:
        raise NotFound("not_found", _("Deal not found."))
    return deal


def line_for_seq(*, deal: Deal, seq: int) -> DunningLine:
    """The ladder's line for the active plan's payment `seq`, created on first use (the tick may not have
    seen it yet). Only incoming, unpaid-or-not lines of the active plan; a fee line has no ladder."""
    installment = (Installment.objects.filter(schedule__deal=deal, schedule__is_active=True, seq=seq,
                                              schedule__direction=Direction.INCOMING)
                   .exclude(kind=Installment.Kind.FEE).first())
    if installment is None:
        raise _invalid("seq", _("The plan has no payment No. %(seq)s.") % {"seq": seq})
    try:
        with transaction.atomic():
            line, _created = DunningLine.objects.get_or_create(
                deal=deal, seq=seq, due_date=installment.due_date,
                defaults={"account_id": deal.account_id, "installment": installment})
    except IntegrityError:
        line = DunningLine.objects.get(deal=deal, seq=seq, due_date=installment.due_date)
    line.deal = deal
    return line


def _client(deal: Deal) -> str:
    return client_name(deal)


def _promise_date_check(*, account: Account, promised_on: date | None, now: datetime) -> date:
    today = local_now(account, now).date()
    if promised_on is None:
        raise _invalid("date", _("Give the date the client promised to pay by."))
    if promised_on <= today:
        raise _invalid("date", _("The promised date must be after %(date)s.") % {"date": date_text(today)})
    if promised_on > today + timedelta(days=366):
        raise _invalid("date", _("The promised date is too far away."))
    return promised_on


@transaction.atomic
def deal_promise_record(*, account: Account, external_id: int, seq: int, promised_on: date | None,
                        recorded_by: int | None, now: datetime) -> DunningLine:
    """«Клиент обещал оплатить…»: the line's ladder pauses until the date."""
    deal = deal_for_lead(account=account, external_id=external_id)
    promised_on = _promise_date_check(account=account, promised_on=promised_on, now=now)
    line = line_for_seq(deal=deal, seq=seq)
    return line_promise_record(account=account, line_id=line.pk, promised_on=promised_on, recorded_by=recorded_by)


@transaction.atomic
def call_outcome_record(*, account: Account, external_id: int, seq: int, outcome: str, promised_on: date | None,
                        comment: str, recorded_by: int | None, now: datetime) -> CallOutcome:
    """Record a call; "promised" pauses the line until the date, "refused" hands the deal to the lawyer now."""
    if outcome not in domain.CALL_OUTCOMES:
        raise _invalid("outcome", _("Choose the call outcome."))
    deal = deal_for_lead(account=account, external_id=external_id)
    if outcome == "promised":
        promised_on = _promise_date_check(account=account, promised_on=promised_on, now=now)
    else:
        promised_on = None
    line = line_for_seq(deal=deal, seq=seq)
    call = CallOutcome.objects.create(account=account, deal=deal, line=line, outcome=outcome, promised_on=promised_on,
                                      comment=comment, recorded_by=recorded_by)
    installment = current_installment(line=line)
    outstanding = installment.amount - installment.paid if installment else Decimal("0.00")
    with in_account_language(account):
        text = str(CALL_TEXTS[outcome]).format(client=_client(deal), amount=plain_money_text(outstanding),
                                               date=date_text(promised_on) if promised_on else "",
                                               debt=plain_money_text(deal.debt))
        if comment:
            text += " " + _("Comment: %(comment)s") % {"comment": comment}
        refused_reason = _("The client refused to pay (call outcome).")
    if outcome == "promised":
        line_promise_record(account=account, line_id=line.pk, promised_on=promised_on, recorded_by=recorded_by)
    publish(account=account, name=CLIENT_ANSWERED, payload={
        "deal_id": deal.pk, "external_id": deal.external_id, "line_id": line.pk, "seq": line.seq,
        "due_date": line.due_date.isoformat(), "answer": f"call_{outcome}", "source": "manager",
        "recorded_by": recorded_by, "responsible_user_id": deal.responsible_user_id, "text": text,
        "promised_on": promised_on.isoformat() if promised_on else None, "needs_manager": False})
    if outcome == "refused":
        deal_decision_record(account=account, external_id=external_id, decision="lawyer", seq=seq,
                             reason=refused_reason, decided_by=recorded_by, now=now)
    return call


@transaction.atomic
def deal_decision_record(*, account: Account, external_id: int, decision: str, reason: str, decided_by: int | None,
                         now: datetime, seq: int | None = None) -> LadderDecision:
    """Hand to the lawyer, keep reminding monthly, or write off: a recorded decision, never a deleted debt.

    Lawyer and write-off end the ladder of the deal's lines, those open now and those that fall due later
    (the tick reads the deal's latest decision); monthly keeps it going every 30 days after its last step.
    The CRM hears of it through the relay (`deal_escalated`): the lawyer becomes responsible, and the lead
    moves to the stage the account mapped to the decision, if any.
    """
    if decision not in domain.DECISIONS:
        raise _invalid("decision", _("Choose the decision."))
    deal = deal_for_lead(account=account, external_id=external_id)
    line = line_for_seq(deal=deal, seq=seq) if seq is not None else None
    row = LadderDecision.objects.create(account=account, deal=deal, line=line, decision=decision,
                                        reason=reason[:2000], debt=deal.debt, decided_by=decided_by)
    if decision in ("lawyer", "write_off"):
        lines = DunningLine.objects.filter(deal=deal, ladder_done_at__isnull=True)
        StepRun.objects.filter(line__in=lines, status__in=StepRun.OPEN_STATUSES).update(
            status=StepRun.Status.CANCELLED, finished_at=now, error=say(account, STOPPED_TEXTS[decision]))
        lines.update(ladder_done_at=now)
    else:  # monthly: a finished ladder goes on
        DunningLine.objects.filter(deal=deal, ladder_done_at__isnull=False).update(ladder_done_at=None)
    _enabled, policy = policy_get(account=account)
    action: dict = {"kind": "write_off_decision" if decision == "write_off" else decision}
    if decision == "lawyer":
        action = {"kind": "assign_user", "role": "lawyer",
                  "user_id": policy.lawyer_user_id or policy.head_of_sales_user_id}
    stage = policy.stage_map.get(decision)
    if stage is not None:
        action |= {"status_id": stage.status_id, "pipeline_id": stage.pipeline_id}
    with in_account_language(account):
        text = str(DECISION_TEXTS[decision]).format(debt=plain_money_text(deal.debt), client=_client(deal))
        if reason:
            text += " " + _("Reason: %(reason)s") % {"reason": reason}
    publish(account=account, name=DEAL_ESCALATED, payload={
        "deal_id": deal.pk, "external_id": deal.external_id, "line_id": line.pk if line else None,
        "seq": line.seq if line else None, "decision_id": row.pk, "decision": decision, "action": action,
        "text": text, "debt": str(deal.debt), "decided_by": decided_by,
        "decided_at": row.created_at.isoformat(),
        "assignee_user_id": action.get("user_id") or deal.responsible_user_id})
    return row


def remind_now(*, account: Account, external_id: int, seq: int, channel: str, requested_by: int | None,
               now: datetime) -> StepRun:
    """«Напомнить сейчас»: an extra step on the line, sent by a worker after commit (quiet hours still hold)."""
    if channel not in domain.CHANNELS:
        raise _invalid("channel", _("Unknown channel."))
    with transaction.atomic():
        deal = deal_for_lead(account=account, external_id=external_id)
        line = line_for_seq(deal=deal, seq=seq)
        installment = current_installment(line=line)
        if installment is None or installment.amount - installment.paid <= 0:
            raise ApplicationError("line_paid", _("This payment is already paid: there is nothing to remind of."),
                                   {"seq": [_("This payment is already paid.")]}, status=409)
        _enabled, policy = policy_get(account=account)
        now_local = local_now(account, now)
        step = domain.Step(day=(now_local.date() - line.due_date).days, channel=channel)
        send_after = now
        if step.is_client:
            send_after = aware(account, domain.next_allowed(now_local, quiet_start_hour=policy.quiet_start_hour,
                                                            quiet_end_hour=policy.quiet_end_hour))
        key = f"m:{channel}:{int(now.timestamp()) // 60}"
        if StepRun.objects.filter(line=line, step_key=key).exists():
            raise ApplicationError("already_requested", _("A reminder on this channel is already being sent."),
                                   {"channel": [_("Already being sent.")]}, status=409)
        step_json = domain.policy_dump(domain.Policy(steps=(step,)))["steps"][0]
        run = StepRun.objects.create(account=account, deal=deal, line=line, step_key=key, day=step.day,
                                     channel=channel, step=step_json, send_after=send_after)
        if send_after <= now:
            transaction.on_commit(lambda: _send_later(run.pk, now), robust=True)
    return run


def _send_later(step_run_id: int, now: datetime) -> None:
    job_enqueue("dunning.send_step", step_run_id, now.isoformat())
