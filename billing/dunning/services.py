"""Writes of dunning: plan the ladder on a tick, claim and record a send, client answers, promises."""
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from billing.client_links import client_page_url
from billing.dunning import domain
from billing.dunning.bulk import insert_new_rows
from billing.dunning.channels.base import ChannelError, Delivery, OutgoingMessage
from billing.dunning.events import (
    CLIENT_ANSWERED,
    DEAL_ESCALATED,
    INSTALLMENT_DUE_SOON,
    INSTALLMENT_OVERDUE,
    REMINDER_FAILED,
    REMINDER_SENT,
)
from billing.dunning.links import answer_links, telegram_start_token_read
from billing.dunning.models import (
    ChannelSettings,
    ClientAnswer,
    DunningLine,
    DunningPolicy,
    LadderDecision,
    OverdueFact,
    StepRun,
    TelegramChat,
    is_secret_option,
)
from billing.dunning.penalties import penalties_accrue
from billing.dunning.selectors import current_installment, latest_decisions, open_installment_chunks, policy_get
from billing.dunning.stages import stages_sync
from billing.errors import ApplicationError
from billing.events import publish, publish_many
from billing.models import Account, Deal, Installment
from billing.texts import date_in, date_text, in_account_language, money_in

logger = logging.getLogger(__name__)
SKIPPED_REASON = gettext_noop("Skipped: a later step was already due by then")
UNKNOWN_OUTCOME = gettext_noop("The sending outcome is unknown: the worker did not answer")
NOT_IN_PLAN = gettext_noop("The payment is no longer in the plan")
PAID_BEFORE_SENDING = gettext_noop("Paid before sending")
PAUSED_UNTIL = gettext_noop("Paused until %(date)s")
LINK_TEXT = gettext_noop("I have paid: %(paid)s Move the date: %(postpone)s Your plan and online payment: %(page)s")
EMAIL_SUBJECT = gettext_noop("Payment reminder: %(amount)s due %(due_date)s")
LADDER_FINISHED = gettext_noop("Every reminder step is done.")


def say(account: Account, message: str, **params: object) -> str:
    """A catalogue message (English msgid) in the account's language, with %-params filled."""
    with in_account_language(account):
        text = gettext(message)
    return text % params if params else text


def channel_error_text(*, account: Account, error: ChannelError) -> str:
    """A provider's failure as the deal's send log shows it: PayPlan's words in the account's language,
    the provider's own words as they came."""
    if not error.template:
        return error.reason
    return say(account, error.template, **error.params)[:500]


def client_name(deal: Deal) -> str:
    """The client as texts name them: the contact's name, or «по сделке № N» in the account's language."""
    return domain.client_label(deal.contact_name, deal.external_id, translate=lambda message: say(deal.account,
                                                                                                  message))


# --- Local time --------------------------------------------------------------------------------------

def local_now(account: Account, now: datetime) -> datetime:
    """The account's wall clock as a naive datetime (the pure rules work on these)."""
    return now.astimezone(ZoneInfo(account.time_zone)).replace(tzinfo=None)


def aware(account: Account, local: datetime) -> datetime:
    return local.replace(tzinfo=ZoneInfo(account.time_zone))


# --- Settings ------------------------------------------------------------------------------------------

@transaction.atomic
def dunning_policy_set(*, account: Account, config: dict, enabled: bool = True,
                       stage_ids: str = "number") -> domain.Policy:
    """Validate and store the account's ladder; a bad one is a 422 naming the step (`steps.2.day`). Stages are
    named as the account's CRM names them (`stage_ids`, domain.STAGE_IDS: numbers or codes, e.g. `C1:WON`)."""
    try:
        policy = domain.policy_parse(config, stage_ids=stage_ids)
    except domain.LadderError as exc:
        message = gettext(exc.template) % exc.params if exc.params else gettext(exc.template)
        raise ApplicationError("invalid_ladder", message, {exc.field: [message]}) from exc
    DunningPolicy.objects.update_or_create(account=account, defaults={
        "config": domain.policy_dump(policy), "enabled": enabled})
    # New steps may apply to lines whose old ladder was done; those handed on or written off stay done.
    latest = LadderDecision.objects.filter(deal_id=OuterRef("deal_id")).order_by("-id").values("decision")[:1]
    DunningLine.objects.filter(account=account, ladder_done_at__isnull=False).annotate(
        decision=Subquery(latest)).filter(Q(decision__isnull=True) | ~Q(decision__in=LADDER_ENDING_DECISIONS)).update(
        ladder_done_at=None)
    return policy


@transaction.atomic
def channel_settings_set(*, account: Account, channel: str, options: dict, secret: str | None = None,
                         enabled: bool = True) -> ChannelSettings:
    """Store a provider's options; the key is written only when given (write-only: never read back).

    Secret options (`is_secret_option`, e.g. Telegram's `webhook_secret`) are write-only as well: left out
    (or null) keeps the stored value, "" clears it; the other options are replaced by what is sent."""
    if channel not in ChannelSettings.Channel.values:
        message = gettext("Unknown channel.")
        raise ApplicationError("invalid_channel", message, {"channel": [message]})
    row, _created = ChannelSettings.objects.select_for_update().get_or_create(account=account, channel=channel)
    given = dict(options or {})
    kept = {name: value for name, value in (row.options or {}).items()
            if is_secret_option(name) and given.get(name) is None}
    merged = {name: value for name, value in given.items() if value is not None}
    merged.update(kept)
    row.options = {name: value for name, value in merged.items() if not (is_secret_option(name) and value == "")}
    row.enabled = enabled
    if secret is not None:
        row.secret = secret
    row.save()
    return row


# --- The tick: planning ----------------------------------------------------------------------------

@dataclass
class PlanReport:
    lines: int = 0
    overdue: int = 0
    planned: int = 0
    skipped: int = 0
    done: int = 0
    moved: int = 0
    fees: int = 0
    due: int = 0
    due_step_ids: list[int] = field(default_factory=list)


def dunning_account_plan(*, account: Account, now: datetime) -> PlanReport:
    """Record overdue facts and plan ladder steps for one account at `now`; returns the steps due to send.

    The account's open lines are read in chunks (`DUNNING_PLAN_CHUNK_LINES`), each chunk one transaction
    with a constant number of statements: the facts and step rows go in as multi-row inserts that skip
    existing unique rows, and events are written only for rows this tick inserted. So it is safe to run
    twice or concurrently (an overlapping tick waits on the same unique rows, then skips them).
    """
    report = PlanReport()
    enabled, policy = policy_get(account=account)
    now_local = local_now(account, now)
    if enabled:
        lead_days = max([0] + [-step.day for step in policy.steps])
        for installments in open_installment_chunks(account=account, due_until=now_local.date() + timedelta(
                days=lead_days), size=settings.DUNNING_PLAN_CHUNK_LINES):
            _chunk_plan(account=account, policy=policy, installments=installments, now=now, now_local=now_local,
                        report=report)
        report.moved = stages_sync(account=account, policy=policy, today=now_local.date(), now=now)
        report.fees = penalties_accrue(account=account, policy=policy, today=now_local.date(), now=now)
    _stale_claims_fail(account=account, now=now)
    report.due_step_ids = list(StepRun.objects.filter(account=account, status__in=StepRun.OPEN_STATUSES,
                                                      send_after__lte=now).values_list("pk", flat=True))
    return report


# A decision that ends the ladder of the deal: its lines, present and future, get no more steps.
LADDER_ENDING_DECISIONS = (LadderDecision.Decision.LAWYER, LadderDecision.Decision.WRITE_OFF)


@transaction.atomic
def _chunk_plan(*, account: Account, policy: domain.Policy, installments: list[Installment], now: datetime,
                now_local: datetime, report: PlanReport) -> None:
    lines = _lines_for(account=account, installments=installments)
    line_ids = [line.pk for line, _ in lines]
    recorded = _recorded_keys(line_ids)
    facts = set(OverdueFact.objects.filter(line_id__in=line_ids).values_list("line_id", flat=True))
    decisions = latest_decisions(account=account, deal_ids={line.deal_id for line, _ in lines})
    report.lines += len(lines)
    new_facts: list[OverdueFact] = []
    new_steps: list[StepRun] = []
    done: list[DunningLine] = []
    for line, installment in lines:
        if line.pk not in facts and domain.is_overdue_now(due_date=_effective_due(line), now_local=now_local,
                                                          cutoff_hour=policy.cutoff_hour):
            new_facts.append(_fact_row(line=line, installment=installment, now=now))
            facts.add(line.pk)  # after the insert it exists: ours, or a concurrent tick's
        decision = decisions.get(line.deal_id)
        if decision in LADDER_ENDING_DECISIONS:
            # Handed to the lawyer or written off: a line that falls due later gets no steps, only its
            # overdue fact (a fact about the money, not a reminder); then it is not read again.
            if line.pk in facts:
                done.append(line)
            continue
        keys = recorded.setdefault(line.pk, set())
        monthly = decision == LadderDecision.Decision.MONTHLY
        steps = policy.steps
        if monthly:
            steps += domain.monthly_steps(steps=steps, days_overdue=(now_local.date() - line.due_date).days)
        plan = domain.line_plan(steps=steps, due_date=_effective_due(line), now_local=now_local,
                                cutoff_hour=policy.cutoff_hour, recorded_keys=keys, paused_until=line.paused_until)
        keys.update(step.key for step in plan.skip + plan.send)
        new_steps += [_step_row(line=line, step=step, status=StepRun.Status.SKIPPED, send_after=now, now=now)
                      for step in plan.skip]
        for step in plan.send:
            send_after = now
            if step.is_client:
                send_after = aware(account, domain.next_allowed(
                    now_local, quiet_start_hour=policy.quiet_start_hour, quiet_end_hour=policy.quiet_end_hour))
            new_steps.append(_step_row(line=line, step=step, status=StepRun.Status.PLANNED, send_after=send_after,
                                       now=now))
        if line.pk in facts and not monthly and domain.ladder_finished(steps=policy.steps, recorded_keys=keys):
            done.append(line)
    fact_lines = {line_id for (line_id,) in insert_new_rows(OverdueFact, new_facts, ("line_id",))}
    step_keys = set(insert_new_rows(StepRun, new_steps, ("line_id", "step_key")))
    for row in new_steps:
        if (row.line_id, row.step_key) in step_keys:
            if row.status == StepRun.Status.SKIPPED:
                report.skipped += 1
            else:
                report.planned += 1
    report.overdue += len(fact_lines)
    soon = _due_soon_mark(line_ids={row.line_id for row in new_steps if row.status == StepRun.Status.PLANNED
                                    and row.day < 0 and (row.line_id, row.step_key) in step_keys}, now=now)
    events = []
    for line, installment in lines:  # in line order, so one deal's events keep their order in the relay
        if line.pk in fact_lines:
            events.append(_overdue_event(line=line, installment=installment, now_local=now_local))
        if line.pk in soon:
            events.append((INSTALLMENT_DUE_SOON, {**_line_payload(line, installment),
                                                  "amount": str(installment.amount - installment.paid)}))
    publish_many(account=account, events=events)
    if done:
        report.done += DunningLine.objects.filter(pk__in=[line.pk for line in done],
                                                  ladder_done_at__isnull=True).update(ladder_done_at=now)
    if policy.end_of_ladder:
        for line in {line.deal_id: line for line in done if line.deal_id not in decisions}.values():
            _end_of_ladder_decide(line=line, decision=policy.end_of_ladder, now=now)


def _lines_for(*, account: Account, installments: list[Installment]) -> list[tuple[DunningLine, Installment]]:
    """The DunningLine of every open installment, created on first sight and re-targeted after a rebuild."""
    if not installments:
        return []
    deal_ids = {item.schedule.deal_id for item in installments}
    existing = {(line.deal_id, line.seq, line.due_date): line
                for line in DunningLine.objects.filter(account=account, deal_id__in=deal_ids)}
    missing = [DunningLine(account=account, deal_id=item.schedule.deal_id, installment=item, seq=item.seq,
                           due_date=item.due_date)
               for item in installments if (item.schedule.deal_id, item.seq, item.due_date) not in existing]
    if missing:
        DunningLine.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {(line.deal_id, line.seq, line.due_date): line
                    for line in DunningLine.objects.filter(account=account, deal_id__in=deal_ids)}
    pairs, retargeted = [], []
    for item in installments:
        line = existing[(item.schedule.deal_id, item.seq, item.due_date)]
        if line.installment_id != item.pk:
            line.installment_id = item.pk
            retargeted.append(line)
        line.deal = item.schedule.deal
        line.deal.account = account
        line.account = account
        pairs.append((line, item))
    if retargeted:
        DunningLine.objects.bulk_update(retargeted, ["installment"])
    return pairs


def _end_of_ladder_decide(*, line: DunningLine, decision: str, now: datetime) -> None:
    """The policy's own end-of-ladder decision, recorded once per deal (decided_by null: the ladder)."""
    from billing.dunning.manager import deal_decision_record

    if LadderDecision.objects.filter(deal_id=line.deal_id).exists():
        return
    deal = line.deal
    deal_decision_record(account=deal.account, external_id=deal.external_id, decision=decision, decided_by=None,
                         now=now,
                         seq=line.seq, reason=say(deal.account, LADDER_FINISHED))


def _recorded_keys(line_ids: list[int]) -> dict[int, set[str]]:
    recorded: dict[int, set[str]] = {}
    for line_id, key in StepRun.objects.filter(line_id__in=line_ids).values_list("line_id", "step_key"):
        recorded.setdefault(line_id, set()).add(key)
    return recorded


def _effective_due(line: DunningLine) -> date:
    return line.due_date + timedelta(days=line.shift_days)


def _fact_row(*, line: DunningLine, installment: Installment, now: datetime) -> OverdueFact:
    deal = line.deal
    outstanding = installment.amount - installment.paid
    text = domain.overdue_text(client=client_name(deal), outstanding=outstanding, due_date=line.due_date,
                               debt=deal.debt, translate=lambda message: say(deal.account, message),
                               money=lambda amount: money_in(deal.account, amount),
                               day=lambda day: date_in(deal.account, day))
    return OverdueFact(line=line, account_id=line.account_id, deal=deal, recorded_at=now, outstanding=outstanding,
                       debt=deal.debt, text=text)


def _overdue_event(*, line: DunningLine, installment: Installment, now_local: datetime) -> tuple[str, dict]:
    deal = line.deal
    outstanding = installment.amount - installment.paid
    text = domain.overdue_text(client=client_name(deal), outstanding=outstanding, due_date=line.due_date,
                               debt=deal.debt, translate=lambda message: say(deal.account, message),
                               money=lambda amount: money_in(deal.account, amount),
                               day=lambda day: date_in(deal.account, day))
    return INSTALLMENT_OVERDUE, {
        **_line_payload(line, installment), "outstanding": str(outstanding), "debt": str(deal.debt),
        "days_overdue": (now_local.date() - line.due_date).days, "text": text,
        "responsible_user_id": deal.responsible_user_id}


def _step_row(*, line: DunningLine, step: domain.Step, status: str, send_after: datetime, now: datetime) -> StepRun:
    """The (line, step) row; inserted only if absent (the unique row is the at-most-once)."""
    skipped = status == StepRun.Status.SKIPPED
    account = line.deal.account if skipped else None
    return StepRun(account_id=line.account_id, deal_id=line.deal_id, line=line, step_key=step.key, day=step.day,
                   channel=step.channel, step=domain.policy_dump(domain.Policy(steps=(step,)))["steps"][0],
                   status=status, send_after=send_after, finished_at=now if skipped else None,
                   error=say(account, SKIPPED_REASON) if skipped else "")


def _due_soon_mark(*, line_ids: set[int], now: datetime) -> set[int]:
    """Mark "due soon" published on these lines; returns those this tick marked (one event per line, ever)."""
    if not line_ids:
        return set()
    marked = set()
    for line in DunningLine.objects.select_for_update(of=("self",)).filter(
            pk__in=sorted(line_ids), due_soon_published_at__isnull=True).order_by("pk").only("pk"):
        marked.add(line.pk)
    if marked:
        DunningLine.objects.filter(pk__in=marked).update(due_soon_published_at=now)
    return marked


def _stale_claims_fail(*, account: Account, now: datetime) -> None:
    """A worker that died mid-send leaves the outcome unknown: shown as failed rather than sent twice."""
    stale = now - timedelta(seconds=settings.DUNNING_SEND_LEASE_SECONDS)
    for run_id in StepRun.objects.filter(account=account, status=StepRun.Status.SENDING,
                                         claimed_at__lt=stale).values_list("pk", flat=True):
        step_run_finish(step_run_id=run_id, now=now, error=say(account, UNKNOWN_OUTCOME),
                        temporary=False, expected_status=StepRun.Status.SENDING)


def _line_payload(line: DunningLine, installment: Installment | None) -> dict:
    return {"deal_id": line.deal_id, "external_id": line.deal.external_id, "line_id": line.pk, "installment_id":
            installment.pk if installment else None, "seq": line.seq, "due_date": line.due_date.isoformat()}


def dunning_plan_all(*, now: datetime | None = None, on_date: date | None = None, at: time = time(18, 30),
                     on_due: Callable[[list[int]], None] | None = None) -> PlanReport:
    """The tick over every active account; with `on_date`, each account as if it were `at` local on that day.

    With `on_due`, each account's due steps are handed over as soon as it is planned (and not collected),
    so the tick's memory does not grow with the number of accounts."""
    total = PlanReport()
    for account in Account.objects.filter(is_active=True).order_by("pk"):
        account_now = (aware(account, datetime.combine(on_date, at)) if on_date else now or timezone.now())
        try:
            report = dunning_account_plan(account=account, now=account_now)
        except Exception:
            logger.exception("dunning tick failed for account %s", account.pk)
            continue
        total.lines += report.lines
        total.overdue += report.overdue
        total.planned += report.planned
        total.skipped += report.skipped
        total.done += report.done
        total.moved += report.moved
        total.fees += report.fees
        total.due += len(report.due_step_ids)
        if on_due is None:
            total.due_step_ids += report.due_step_ids
        elif report.due_step_ids:
            on_due(report.due_step_ids)
    return total


# --- Sending: claim, call (in the task), finish ----------------------------------------------------

def step_run_claim(*, step_run_id: int, now: datetime) -> OutgoingMessage | None:
    """Decide under the row lock whether the step goes out now; the provider call happens after commit.

    Paid, paused or vanished lines are cancelled here, at send time, not at planning. Staff steps
    (manager task, note) are done here: they are events for the CRM adapter, not provider calls.
    """
    with transaction.atomic():
        run = (StepRun.objects.select_for_update(of=("self",)).select_related("line", "deal__account")
               .filter(pk=step_run_id).first())
        if run is None or run.status not in StepRun.OPEN_STATUSES or run.send_after > now:
            return None
        line, deal = run.line, run.deal
        account = deal.account
        line.deal = deal
        installment = current_installment(line=line)
        if installment is None:
            _finish(run, StepRun.Status.CANCELLED, now, error=say(account, NOT_IN_PLAN))
            return None
        if installment.pk != line.installment_id:
            DunningLine.objects.filter(pk=line.pk).update(installment=installment)
        outstanding = installment.amount - installment.paid
        if outstanding <= 0:
            _finish(run, StepRun.Status.CANCELLED, now, error=say(account, PAID_BEFORE_SENDING))
            return None
        now_local = local_now(account, now)
        if line.paused_until is not None and now_local.date() < line.paused_until:
            _finish(run, StepRun.Status.CANCELLED, now, error=say(account, PAUSED_UNTIL,
                                                                      date=date_in(account, line.paused_until)))
            return None
        _enabled, policy = policy_get(account=account)
        step = domain.step_parse(run.step, 0)
        links = answer_links(account_id=account.pk, line_id=line.pk)
        link_text = say(account, LINK_TEXT, paid=links["paid"], postpone=links["postpone"],
                        page=client_page_url(deal)) if step.is_client else ""
        text = domain.step_text(step, client=client_name(deal), amount=outstanding, due_date=line.due_date,
                                debt=deal.debt, days_overdue=(now_local.date() - line.due_date).days,
                                links=link_text, translate=lambda message: say(account, message),
                                money=lambda amount: money_in(account, amount), day=lambda day: date_in(account, day))
        if step.action is not None:
            _action_publish(run=run, line=line, installment=installment, step=step, policy=policy, text=text)
        if not step.is_client:
            assignee = _assignee_user_id(step.assignee, deal=deal, policy=policy)
            run.recipient = str(assignee or "")
            run.text = text
            _finish(run, StepRun.Status.SENT, now)
            publish(account=account, name=REMINDER_SENT, payload={
                **_line_payload(line, installment), "step_key": run.step_key, "channel": run.channel,
                "assignee_kind": step.assignee.kind, "assignee_user_id": assignee, "text": text,
                "outstanding": str(outstanding), "debt": str(deal.debt)})
            return None
        recipient = _recipient(step.channel, deal)
        if not recipient:
            run.text = text
            _finish(run, StepRun.Status.FAILED, now, error=say(account, _NO_RECIPIENT[step.channel]))
            _failed_publish(run=run, line=line, installment=installment)
            return None
        run.status, run.claimed_at, run.recipient, run.text = StepRun.Status.SENDING, now, recipient, text
        run.attempts += 1
        run.save(update_fields=["status", "claimed_at", "recipient", "text", "attempts"])
        return OutgoingMessage(channel=step.channel, recipient=recipient, text=text,
                               subject=say(account, EMAIL_SUBJECT, amount=money_in(account, outstanding),
                                           due_date=date_in(account, line.due_date)),
                               idempotency_key=f"payplan-dunning-{run.pk}")


_NO_RECIPIENT = {
    "client_email": gettext_noop("The client has no email"),
    "client_sms": gettext_noop("The client has no phone number"),
    "client_whatsapp": gettext_noop("The client has no phone number"),
    "client_telegram": gettext_noop("The client has not connected Telegram"),
}


def _recipient(channel: str, deal: Deal) -> str:
    if channel == "client_email":
        return deal.contact_email.strip()
    if channel in ("client_sms", "client_whatsapp"):
        digits = "".join(char for char in deal.contact_phone if char.isdigit())
        if len(digits) == 11 and digits.startswith("8"):
            digits = "7" + digits[1:]
        return digits if 10 <= len(digits) <= 15 else ""
    if channel == "client_telegram":
        chat = TelegramChat.objects.filter(deal=deal).first()
        return str(chat.chat_id) if chat else ""
    return ""


def _assignee_user_id(assignee: domain.Assignee, *, deal: Deal, policy: domain.Policy) -> int | None:
    if assignee.kind == "user":
        return assignee.user_id
    if assignee.kind == "head_of_sales":
        return policy.head_of_sales_user_id or deal.responsible_user_id
    if assignee.kind == "lawyer":
        return policy.lawyer_user_id or policy.head_of_sales_user_id or deal.responsible_user_id
    return deal.responsible_user_id


def _action_publish(*, run: StepRun, line: DunningLine, installment: Installment, step: domain.Step,
                    policy: domain.Policy, text: str) -> None:
    action = step.action
    data = domain.policy_dump(domain.Policy(steps=(step,)))["steps"][0]["action"]
    if action.kind == "assign_user" and action.user_id is None and action.role == "lawyer":
        data["user_id"] = policy.lawyer_user_id
    # step_channel: a staff step's own task / note comes with its reminder_sent; the CRM feed adds no second one.
    publish(account=run.deal.account, name=DEAL_ESCALATED, payload={
        **_line_payload(line, installment), "step_key": run.step_key, "step_channel": step.channel,
        "action": data, "text": text, "debt": str(run.deal.debt)})


def _finish(run: StepRun, status: str, now: datetime, *, error: str = "") -> None:
    run.status, run.finished_at, run.error = status, now, error[:500]
    run.save(update_fields=["status", "finished_at", "error", "recipient", "text"])


def _failed_publish(*, run: StepRun, line: DunningLine, installment: Installment | None) -> None:
    publish(account=run.deal.account, name=REMINDER_FAILED, payload={
        **_line_payload(line, installment), "step_key": run.step_key, "channel": run.channel,
        "recipient": run.recipient, "error": run.error, "attempts": run.attempts})


def step_run_finish(*, step_run_id: int, now: datetime, delivery: Delivery | None = None, error: str = "",
                    temporary: bool = False, expected_status: str = StepRun.Status.SENDING) -> StepRun | None:
    """Record a provider's answer: sent, retried later with backoff, or failed with the reason shown."""
    with transaction.atomic():
        run = (StepRun.objects.select_for_update(of=("self",)).select_related("line", "deal__account")
               .filter(pk=step_run_id, status=expected_status).first())
        if run is None:
            return None
        line = run.line
        line.deal = run.deal
        installment = Installment.objects.filter(pk=line.installment_id).first()
        if delivery is not None:
            run.provider_message_id = delivery.provider_message_id[:128]
            run.status, run.finished_at, run.error = StepRun.Status.SENT, now, ""
            run.save(update_fields=["provider_message_id", "status", "finished_at", "error"])
            publish(account=run.deal.account, name=REMINDER_SENT, payload={
                **_line_payload(line, installment), "step_key": run.step_key, "channel": run.channel,
                "recipient": run.recipient, "text": run.text, "provider_message_id": run.provider_message_id})
            return run
        if temporary and run.attempts < settings.DUNNING_MAX_ATTEMPTS:
            account = run.deal.account
            backoff = settings.DUNNING_RETRY_BACKOFF_SECONDS * 2 ** (run.attempts - 1)
            retry_at = local_now(account, now + timedelta(seconds=backoff))
            _enabled, policy = policy_get(account=account)
            run.status, run.error = StepRun.Status.RETRYING, error[:500]
            run.send_after = aware(account, domain.next_allowed(  # a retry, too, keeps out of quiet hours
                retry_at, quiet_start_hour=policy.quiet_start_hour, quiet_end_hour=policy.quiet_end_hour))
            run.save(update_fields=["status", "error", "send_after"])
            return run
        _finish(run, StepRun.Status.FAILED, now, error=error)
        _failed_publish(run=run, line=line, installment=installment)
        return run


# --- Answers and promises ----------------------------------------------------------------------------

def _line_lock(*, account_id: int, line_id: int) -> DunningLine:
    line = (DunningLine.objects.select_for_update(of=("self",)).select_related("deal__account")
            .filter(pk=line_id, account_id=account_id).first())
    if line is None:
        raise ApplicationError("not_found", gettext("The link is not valid."), status=404)
    return line


def _open_steps_drop(line: DunningLine) -> None:
    """Planned, never-sent steps of a paused or shifted line are re-planned at the new time."""
    StepRun.objects.filter(line=line, status__in=StepRun.OPEN_STATUSES).delete()


def line_outstanding(line: DunningLine) -> Decimal:
    installment = current_installment(line=line)
    return installment.amount - installment.paid if installment else Decimal("0.00")


@transaction.atomic
def client_paid_claim(*, account_id: int, line_id: int, now: datetime) -> ClientAnswer:
    """The client says they paid: recorded, the manager is told, the ladder waits a few days for the money."""
    line = _line_lock(account_id=account_id, line_id=line_id)
    today = local_now(line.deal.account, now).date()
    answer = ClientAnswer.objects.create(line=line, account_id=account_id, kind=ClientAnswer.Kind.PAID)
    line.client_claimed_paid_at = now
    pause = today + timedelta(days=settings.DUNNING_CLAIM_PAUSE_DAYS)
    line.paused_until = max(line.paused_until or pause, pause)
    line.save(update_fields=["client_claimed_paid_at", "paused_until"])
    _open_steps_drop(line)
    deal = line.deal
    with in_account_language(deal.account):
        text = gettext("The client {client} says they paid the payment due {due_date}. Check that it arrived.").format(
            client=client_name(deal), due_date=date_text(line.due_date))
    publish(account=deal.account, name=CLIENT_ANSWERED, payload={
        **_line_payload(line, None), "answer": "paid", "source": "client",
        "responsible_user_id": deal.responsible_user_id, "text": text})
    return answer


@dataclass(frozen=True)
class PostponeResult:
    accepted: bool
    requested: date


@transaction.atomic
def client_postpone_request(*, account_id: int, line_id: int, requested: date, now: datetime) -> PostponeResult:
    """Within the account's limit (once per line) the line's ladder shifts; beyond it a manager decides."""
    line = _line_lock(account_id=account_id, line_id=line_id)
    deal = line.deal
    today = local_now(deal.account, now).date()
    not_before = domain.postpone_not_before(today=today, due=line.due_date)
    if requested <= not_before:
        message = gettext("Choose a date after %(date)s.") % {"date": date_text(not_before)}
        raise ApplicationError("invalid_date", message, {"date": [message]})
    if requested > today + timedelta(days=366):
        message = gettext("The date is too far away.")
        raise ApplicationError("invalid_date", message, {"date": [message]})
    _enabled, policy = policy_get(account=deal.account)
    decision = domain.postpone_decide(due_date=line.due_date, requested=requested, today=today,
                                      max_days=policy.postpone_max_days,
                                      already_postponed=line.postponed_at is not None)
    ClientAnswer.objects.create(line=line, account_id=account_id, kind=ClientAnswer.Kind.POSTPONE,
                                requested_date=requested, accepted=decision.allowed)
    if decision.allowed:
        line.shift_days = (requested - line.due_date).days
        line.postponed_at = now
        line.save(update_fields=["shift_days", "postponed_at"])
        _open_steps_drop(line)
    client = client_name(deal)
    with in_account_language(deal.account):
        template = (gettext("The client {client} moved the payment due {due_date} to {requested}.")
                    if decision.allowed else
                    gettext("The client {client} asks to move the payment due {due_date} to {requested}: this is "
                            "over the limit, your decision is needed."))
        text = template.format(client=client, due_date=date_text(line.due_date), requested=date_text(requested))
    publish(account=deal.account, name=CLIENT_ANSWERED, payload={
        **_line_payload(line, None), "answer": "postpone", "source": "client", "requested_date":
        requested.isoformat(), "accepted": decision.allowed, "needs_manager": decision.needs_manager,
        "responsible_user_id": deal.responsible_user_id, "text": text})
    return PostponeResult(accepted=decision.allowed, requested=requested)


@transaction.atomic
def line_promise_record(*, account: Account, line_id: int, promised_on: date, recorded_by: int | None) -> DunningLine:
    """"Promised to pay on DATE" (from the manager's call): the line's ladder waits until that date."""
    line = _line_lock(account_id=account.pk, line_id=line_id)
    line.paused_until = promised_on
    line.save(update_fields=["paused_until"])
    _open_steps_drop(line)
    publish(account=account, name=CLIENT_ANSWERED, payload={
        **_line_payload(line, None), "answer": "promise", "source": "manager", "recorded_by": recorded_by,
        "promised_on": promised_on.isoformat()})
    return line


@transaction.atomic
def telegram_update_receive(*, account: Account, update: dict) -> TelegramChat | None:
    """The bot's `/start <token>` binds the chat to the deal the signed token names; anything else is ignored."""
    message = update.get("message") or {}
    text = str(message.get("text") or "")
    chat_id = (message.get("chat") or {}).get("id")
    if not text.startswith("/start ") or not isinstance(chat_id, int):
        return None
    deal_id = telegram_start_token_read(text.removeprefix("/start ").strip())
    deal = Deal.objects.filter(pk=deal_id, account=account).first() if deal_id else None
    if deal is None:
        return None
    chat, _created = TelegramChat.objects.update_or_create(deal=deal, defaults={"account": account,
                                                                                 "chat_id": chat_id})
    return chat
