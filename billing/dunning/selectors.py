"""Reads of dunning: the account's policy, open lines for a tick, the send log of a deal."""
import functools
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext

from billing.dunning.domain import DEFAULT_POLICY, Policy, legacy_reminders_steps, policy_parse
from billing.dunning.models import (
    SECRET_OPTIONS,
    CallOutcome,
    ChannelSettings,
    DunningLine,
    DunningPolicy,
    LadderDecision,
    OverdueFact,
    PenaltyCharge,
    StepRun,
    is_secret_option,
)
from billing.errors import NotFound
from billing.models import Account, Deal, Direction, Installment
from billing.selectors.compiled_sql import compiled_statement, queryset_compiled


def policy_get(*, account: Account) -> tuple[bool, Policy]:
    """(enabled, policy); an account that never saved one runs the defaults, or — when it had set the old
    `settings["reminders"]` list (superseded, read-only now) — those reminders mapped to ladder steps."""
    stored = _policy_stored(account)
    if stored is None:
        legacy = legacy_reminders_steps(account.settings.get("reminders"))
        return True, replace(DEFAULT_POLICY, steps=legacy) if legacy else DEFAULT_POLICY
    enabled, config = stored
    return enabled, policy_parse(config, stage_ids="either")


def _policy_stored(account: Account) -> tuple[bool, dict] | None:
    """The account's saved (enabled, config), None: never saved. On PostgreSQL by a statement the ORM compiled
    once (`compiled_statement`): the worklist reads the policy on every page, building its query cost more than
    running it."""
    statement = _policy_statement(connection.vendor) if connection.vendor == "postgresql" else None
    if statement is None:
        return _policy_values(account.pk).first()
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.params({"account": account.pk}))
        rows = statement.rows(cursor.fetchall())
    return rows[0] if rows else None


def _policy_values(account_id: int):
    return DunningPolicy.objects.filter(account_id=account_id).order_by("pk").values_list("enabled", "config")


@functools.lru_cache(maxsize=4)
def _policy_statement(vendor: str):
    return compiled_statement(lambda seed: queryset_compiled(_policy_values(9_100_000_000 + seed)[:1],
                                                             {"account": 9_100_000_000 + seed}))


def ladder_saved(*, account: Account) -> bool:
    """The account saved a ladder of its own: the old `settings["reminders"]` list is no longer read."""
    return DunningPolicy.objects.filter(account=account).exists()


def open_installments(*, account: Account, due_until: date):
    """Incoming lines of active plans with an unpaid remainder, due by `due_until`, deal and schedule loaded.

    Fee lines have no ladder of their own; a line whose ladder is done (every step recorded, or the deal
    handed to the lawyer / written off) is not read again (partial index dunning_line_done_idx).
    """
    done = DunningLine.objects.filter(deal_id=OuterRef("schedule__deal_id"), seq=OuterRef("seq"),
                                      due_date=OuterRef("due_date"), ladder_done_at__isnull=False)
    return (Installment.objects
            .filter(schedule__deal__account=account, schedule__is_active=True,
                    schedule__direction=Direction.INCOMING, schedule__deal__cancelled_at__isnull=True,
                    paid__lt=F("amount"), due_date__lte=due_until)
            .exclude(kind=Installment.Kind.FEE).exclude(Exists(done))
            .select_related("schedule__deal")
            .order_by("schedule__deal_id", "seq"))


def open_installment_chunks(*, account: Account, due_until: date, size: int):
    """`open_installments` streamed in chunks of `size` rows (keyset on deal and seq), so a tick's memory
    and statements per chunk do not grow with the account's book."""
    rows = open_installments(account=account, due_until=due_until)
    after: tuple[int, int] | None = None
    while True:
        page = rows if after is None else rows.filter(
            Q(schedule__deal_id__gt=after[0]) | Q(schedule__deal_id=after[0], seq__gt=after[1]))
        chunk = list(page[:size])
        if chunk:
            yield chunk
        if len(chunk) < size:
            return
        after = (chunk[-1].schedule.deal_id, chunk[-1].seq)


def latest_decisions(*, account: Account, deal_ids) -> dict[int, str]:
    """deal_id → its latest end-of-ladder decision (lawyer, monthly, write_off), for deals that have one."""
    latest: dict[int, str] = {}
    for deal_id, decision in (LadderDecision.objects.filter(account=account, deal_id__in=deal_ids)
                              .order_by("id").values_list("deal_id", "decision")):
        latest[deal_id] = decision
    return latest


def current_installment(*, line: DunningLine) -> Installment | None:
    """The active plan's row for this line's (seq, due date): where a rebuild moved it, or None."""
    return (Installment.objects
            .filter(schedule__deal_id=line.deal_id, schedule__is_active=True, seq=line.seq, due_date=line.due_date)
            .first())


def channel_settings_get(*, account: Account) -> dict[str, dict]:
    """The channels as the settings page shows them: options and whether a key is set, never the key.

    Secret options (Telegram's `webhook_secret`, ...) are left out of `options` and answered only as
    `<name>_set: true/false` next to `has_secret`."""
    shown = {}
    for row in ChannelSettings.objects.filter(account=account):
        options = dict(row.options or {})
        secret_names = {*SECRET_OPTIONS.get(row.channel, ()), *(name for name in options if is_secret_option(name))}
        body = {"enabled": row.enabled, "has_secret": bool(row.secret),
                "options": {name: value for name, value in options.items() if name not in secret_names}}
        for name in sorted(secret_names):
            body[f"{name}_set"] = bool(options.get(name))
        shown[row.channel] = body
    return shown


@dataclass(frozen=True)
class SendLogRow:
    at: datetime
    step_key: str
    channel: str
    recipient: str
    status: str
    error: str
    attempts: int
    text: str
    seq: int
    due_date: date


@dataclass(frozen=True)
class OverdueRow:
    seq: int
    due_date: date
    recorded_at: datetime
    outstanding: Decimal
    debt: Decimal
    text: str


@dataclass(frozen=True)
class LineRow:
    seq: int
    due_date: date
    paused_until: date | None
    shift_days: int
    ladder_done: bool
    penalty_waived: bool


@dataclass(frozen=True)
class DecisionRow:
    decision: str
    reason: str
    debt: Decimal
    decided_by: int | None
    at: datetime


@dataclass(frozen=True)
class CallRow:
    seq: int
    outcome: str
    promised_on: date | None
    comment: str
    recorded_by: int | None
    at: datetime


@dataclass(frozen=True)
class PenaltyRow:
    seq: int
    fee_seq: int
    kind: str
    charged_on: date
    amount: Decimal
    reason: str


@dataclass(frozen=True)
class DealDunning:
    sends: list[SendLogRow]
    overdue: list[OverdueRow]
    lines: list[LineRow] = field(default_factory=list)
    decisions: list[DecisionRow] = field(default_factory=list)
    calls: list[CallRow] = field(default_factory=list)
    penalties: list[PenaltyRow] = field(default_factory=list)
    decision: DecisionRow | None = None  # the latest: what holds now
    reminders_stopped: bool = False  # handed to the lawyer or written off: no steps for any line, new ones too


def deal_dunning_get(*, account: Account, external_id: int) -> DealDunning:
    """Every reminder of a deal (when, channel, to whom, delivered / failed and why) and its overdue facts."""
    deal = Deal.objects.filter(account=account, external_id=external_id).first()
    if deal is None:
        raise NotFound("not_found", gettext("Deal not found."))
    runs = StepRun.objects.filter(deal=deal).select_related("line").order_by("created_at", "id")
    facts = OverdueFact.objects.filter(deal=deal).select_related("line").order_by("recorded_at")
    decisions = [DecisionRow(decision=row.decision, reason=row.reason, debt=row.debt, decided_by=row.decided_by,
                             at=row.created_at) for row in LadderDecision.objects.filter(deal=deal)]
    latest = decisions[-1] if decisions else None
    return DealDunning(
        decision=latest, reminders_stopped=latest is not None and latest.decision in ("lawyer", "write_off"),
        lines=[LineRow(seq=line.seq, due_date=line.due_date, paused_until=line.paused_until,
                       shift_days=line.shift_days, ladder_done=line.ladder_done_at is not None,
                       penalty_waived=line.penalty_waived_at is not None)
               for line in DunningLine.objects.filter(deal=deal).order_by("due_date", "seq")],
        decisions=decisions,
        calls=[CallRow(seq=row.line.seq, outcome=row.outcome, promised_on=row.promised_on, comment=row.comment,
                       recorded_by=row.recorded_by, at=row.created_at)
               for row in CallOutcome.objects.filter(deal=deal).select_related("line").order_by("id")],
        penalties=[PenaltyRow(seq=row.line.seq, fee_seq=row.fee_seq, kind=row.kind, charged_on=row.charged_on,
                              amount=row.amount, reason=row.reason)
                   for row in PenaltyCharge.objects.filter(deal=deal).select_related("line").order_by("id")],
        sends=[SendLogRow(at=run.finished_at or run.created_at, step_key=run.step_key, channel=run.channel,
                          recipient=run.recipient, status=run.status, error=run.error, attempts=run.attempts,
                          text=run.text, seq=run.line.seq, due_date=run.line.due_date) for run in runs],
        overdue=[OverdueRow(seq=fact.line.seq, due_date=fact.line.due_date, recorded_at=fact.recorded_at,
                            outstanding=fact.outstanding, debt=fact.debt, text=fact.text) for fact in facts],
    )


@dataclass(frozen=True)
class AnswerLine:
    """What an answer page shows: whose payment, how much, by when, and the postponement limit."""

    account_id: int
    line_id: int
    company: str
    client: str
    amount: str  # «25 000,00 ₽», in the language active when it was read (the page's)
    due_date: str  # «05.12.2026»
    due: date
    latest_postpone: date
    latest_postpone_text: str
    postponed: bool
    telegram_link: str


def answer_line_get(*, account_id: int, line_id: int) -> AnswerLine | None:
    from billing.dunning.links import telegram_start_token
    from billing.texts import date_text, money_text

    line = DunningLine.objects.filter(pk=line_id, account_id=account_id).select_related("deal__account").first()
    if line is None:
        return None
    installment = current_installment(line=line)
    outstanding = installment.amount - installment.paid if installment else Decimal("0.00")
    _enabled, policy = policy_get(account=line.deal.account)
    bot = ChannelSettings.objects.filter(account_id=account_id, channel="telegram", enabled=True).first()
    bot_name = (bot.options or {}).get("bot_username", "") if bot else ""
    latest_postpone = line.due_date + timedelta(days=policy.postpone_max_days)
    return AnswerLine(
        account_id=account_id, line_id=line.pk, company=line.deal.account.name,
        client=line.deal.contact_name, amount=money_text(outstanding, line.deal.account.currency),
        due_date=date_text(line.due_date), due=line.due_date, latest_postpone=latest_postpone,
        latest_postpone_text=date_text(latest_postpone),
        postponed=line.postponed_at is not None,
        telegram_link=f"https://t.me/{bot_name}?start={telegram_start_token(line.deal_id)}" if bot_name else "",
    )
