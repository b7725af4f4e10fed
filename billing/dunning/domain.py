"""Pure dunning rules: the ladder and its validation, when a step is due, quiet hours, message texts.

Nothing here imports Django: the services feed it plain values (local naive datetimes, Decimals).
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from string import Template
from typing import Any

from billing.domain.stages import NotAStageCode, stage_code_check

CLIENT_CHANNELS = ("client_email", "client_sms", "client_whatsapp", "client_telegram")
STAFF_CHANNELS = ("manager_task", "note")
CHANNELS = CLIENT_CHANNELS + STAFF_CHANNELS
ASSIGNEE_KINDS = ("responsible", "head_of_sales", "lawyer", "user")
ACTION_KINDS = ("move_to_stage", "assign_user", "late_fee", "write_off_decision")
DECISIONS = ("lawyer", "monthly", "write_off")
CALL_OUTCOMES = ("reached", "no_answer", "wrong_number", "promised", "refused")
# Receivables by age (days overdue, inclusive), as analytics sorts them; each may map to a CRM stage.
AGING_BUCKETS = (("due_next_7_days", -7, 0), ("overdue_1_30", 1, 30), ("overdue_31_90", 31, 90),
                 ("overdue_91_180", 91, 180), ("overdue_over_180", 181, None))
BUCKET_NAMES = tuple(name for name, _, _ in AGING_BUCKETS)
STAGE_KEYS = BUCKET_NAMES + DECISIONS  # what may map to a CRM stage: an aging bucket or a decision
MONTHLY_EVERY_DAYS = 30
MIN_DAY, MAX_DAY = -60, 366
MAX_TEMPLATE_LENGTH = 1000
StageId = int | str
CENT = Decimal("0.01")


def gettext_noop(message: str) -> str:
    """Marks an English message for the gettext catalogue without importing Django; the service layer
    translates `LadderError.template` with `params` (billing.dunning.services)."""
    return message


class LadderError(ValueError):
    """A ladder or policy that cannot run; `field` names the step (`steps.2.day`). `template % params` is
    the English message; the edge translates `template`."""

    def __init__(self, field: str, template: str, **params: object) -> None:
        self.field = field
        self.template = template
        self.params = params
        self.message = template % params if params else template
        super().__init__(self.message)


@dataclass(frozen=True)
class Assignee:
    kind: str = "responsible"
    user_id: int | None = None


@dataclass(frozen=True)
class Action:
    kind: str
    status_id: StageId | None = None  # move_to_stage
    pipeline_id: int | None = None  # move_to_stage
    user_id: int | None = None  # assign_user (None: the policy's lawyer)
    role: str = ""  # assign_user: "lawyer", ...
    fixed: Decimal | None = None  # late_fee
    percent_per_day: Decimal | None = None  # late_fee
    cap: Decimal | None = None  # late_fee


@dataclass(frozen=True)
class Step:
    day: int  # relative to the due date; negative = before
    channel: str
    template: str = ""  # empty: the channel's default text
    after_cutoff: bool = False  # due at the cut-off hour of its day instead of its start
    assignee: Assignee = field(default_factory=Assignee)
    action: Action | None = None

    @property
    def key(self) -> str:
        return f"{self.day:+d}:{self.channel}"

    @property
    def is_client(self) -> bool:
        return self.channel in CLIENT_CHANNELS


@dataclass(frozen=True)
class Penalties:
    """A late fee per overdue line: `fixed` once, or `percent_per_day` of the unpaid remainder, up to `cap`."""

    fixed: Decimal | None = None
    percent_per_day: Decimal | None = None
    cap: Decimal | None = None
    grace_days: int = 0  # no fee for the first N days overdue


@dataclass(frozen=True)
class StageTarget:
    status_id: StageId
    pipeline_id: int | None = None


@dataclass(frozen=True)
class Policy:
    steps: tuple[Step, ...]
    cutoff_hour: int = 18
    quiet_start_hour: int = 21
    quiet_end_hour: int = 9
    postpone_max_days: int = 7
    head_of_sales_user_id: int | None = None
    lawyer_user_id: int | None = None
    penalties: Penalties | None = None
    stages: tuple[tuple[str, StageTarget], ...] = ()  # aging bucket -> CRM stage
    end_of_ladder: str = ""  # "", lawyer, monthly, write_off: what the last step decides by itself

    @property
    def stage_map(self) -> dict[str, StageTarget]:
        return dict(self.stages)


DEFAULT_STEPS: tuple[Step, ...] = (
    Step(day=-3, channel="client_email"),
    Step(day=0, channel="client_email"),
    Step(day=0, channel="manager_task", after_cutoff=True),
    Step(day=3, channel="client_sms"),
    Step(day=3, channel="client_whatsapp"),
    Step(day=7, channel="manager_task"),
    Step(day=30, channel="manager_task", assignee=Assignee("lawyer"),
         action=Action(kind="assign_user", role="lawyer")),
)
DEFAULT_POLICY = Policy(steps=DEFAULT_STEPS)


# --- Parsing and validation ----------------------------------------------------------------------

def _int(raw: Any, where: str, low: int, high: int, message: str, **params: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise LadderError(where, message, **params)
    return raw


def _optional_int(raw: Any, where: str) -> int | None:
    if raw is None:
        return None
    return _int(raw, where, 1, 2**53, gettext_noop("Give a positive number."))


def _stage(raw: dict, where: str, stage_ids: str, missing: str) -> tuple[StageId, int | None]:
    """(status_id, pipeline_id) of a stage as the account's CRM names it: a positive number, or a STATUS_ID code
    with its pipeline (category) id, 0 being the default pipeline."""
    raw_status, raw_pipeline = raw.get("status_id"), raw.get("pipeline_id")
    if raw_status is None or raw_status == "":
        raise LadderError(f"{where}.status_id", missing)
    if isinstance(raw_status, str) and stage_ids != "number":
        return _stage_code(raw_status.strip(), raw_pipeline, where)
    if stage_ids == "code":
        raise LadderError(f"{where}.status_id", gettext_noop(
            "This CRM names a stage by its code, e.g. «C1:NEW» or «WON»: choose the stage from the list."))
    return _optional_int(raw_status, f"{where}.status_id"), _optional_int(raw_pipeline, f"{where}.pipeline_id")


def _stage_code(code: str, raw_pipeline: Any, where: str) -> tuple[str, int | None]:
    pipeline_id = None if raw_pipeline is None else _int(raw_pipeline, f"{where}.pipeline_id", 0, 2**53,
                                                         gettext_noop("Give a whole number, zero or more."))
    try:
        return stage_code_check(code, pipeline_id), pipeline_id
    except NotAStageCode as exc:
        raise LadderError(f"{where}.status_id", gettext_noop("This stage belongs to another pipeline.")
                          if exc.reason == "pipeline" else gettext_noop(
                              "This CRM names a stage by its code, e.g. «C1:NEW» or «WON»: "
                              "choose the stage from the list.")) from exc


def _decimal(raw: Any, where: str) -> Decimal | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, float | bool):
        raise LadderError(where, gettext_noop("Give the number as a string, e.g. «500.00»."))
    try:
        value = Decimal(str(raw))
    except InvalidOperation as exc:
        raise LadderError(where, gettext_noop("This is not a number.")) from exc
    if not value.is_finite():
        raise LadderError(where, gettext_noop("This is not a number."))
    if value < 0:
        raise LadderError(where, gettext_noop("The value cannot be negative."))
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _action(raw: Any, where: str, stage_ids: str = "number") -> Action | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or raw.get("kind") not in ACTION_KINDS:
        raise LadderError(f"{where}.kind", gettext_noop("Unknown step action."))
    kind = raw["kind"]
    if kind == "move_to_stage":
        status_id, pipeline_id = _stage(raw, where, stage_ids, gettext_noop("Choose the stage to move the deal to."))
        return Action(kind=kind, status_id=status_id, pipeline_id=pipeline_id)
    if kind == "assign_user":
        role = str(raw.get("role") or "")[:32]
        return Action(kind=kind, user_id=_optional_int(raw.get("user_id"), f"{where}.user_id"), role=role)
    if kind == "late_fee":
        fixed = _decimal(raw.get("fixed"), f"{where}.fixed")
        percent = _decimal(raw.get("percent_per_day"), f"{where}.percent_per_day")
        cap = _decimal(raw.get("cap"), f"{where}.cap")
        if (fixed is None) == (percent is None):
            raise LadderError(f"{where}.fixed", gettext_noop("Give either a fixed penalty or a percent per day."))
        if percent is not None and percent > 100:
            raise LadderError(f"{where}.percent_per_day", gettext_noop("The percent per day cannot be more than 100."))
        if (fixed is not None and fixed == 0) or (percent is not None and percent == 0):
            raise LadderError(f"{where}.{'fixed' if fixed is not None else 'percent_per_day'}",
                              gettext_noop("The penalty must be greater than zero."))
        if cap is not None and fixed is not None and fixed > cap:
            raise LadderError(f"{where}.fixed", gettext_noop("The fixed penalty is more than its cap."))
        return Action(kind=kind, fixed=fixed, percent_per_day=percent, cap=cap)
    return Action(kind=kind)


def _assignee(raw: Any, where: str) -> Assignee:
    if raw is None:
        return Assignee()
    if not isinstance(raw, dict) or raw.get("kind") not in ASSIGNEE_KINDS:
        raise LadderError(f"{where}.kind", gettext_noop(
            "The task goes to the responsible manager, the head of sales, the lawyer or a chosen user."))
    user_id = _optional_int(raw.get("user_id"), f"{where}.user_id")
    if raw["kind"] == "user" and user_id is None:
        raise LadderError(f"{where}.user_id", gettext_noop("Choose the user the task is for."))
    return Assignee(kind=raw["kind"], user_id=user_id)


def step_parse(raw: Any, index: int, stage_ids: str = "number") -> Step:
    where = f"steps.{index}"
    if not isinstance(raw, dict):
        raise LadderError(where, gettext_noop("A step must be an object."))
    day = _int(raw.get("day"), f"{where}.day", MIN_DAY, MAX_DAY,
               gettext_noop("A step's day is a whole number from %(first)s to %(last)s relative to the due date."),
               first=MIN_DAY, last=MAX_DAY)
    channel = raw.get("channel")
    if channel not in CHANNELS:
        raise LadderError(f"{where}.channel", gettext_noop("Unknown step channel."))
    template = raw.get("template") or ""
    if not isinstance(template, str) or len(template) > MAX_TEMPLATE_LENGTH:
        raise LadderError(f"{where}.template", gettext_noop(
            "A step's text is a string of at most %(max)s characters."), max=MAX_TEMPLATE_LENGTH)
    return Step(day=day, channel=channel, template=template, after_cutoff=bool(raw.get("after_cutoff", False)),
                assignee=_assignee(raw.get("assignee"), f"{where}.assignee"),
                action=_action(raw.get("action"), f"{where}.action", stage_ids))


def policy_parse(raw: dict[str, Any], *, stage_ids: str = "number") -> Policy:
    """A policy from its JSON form; LadderError names the first bad field. Missing keys take defaults.
    `stage_ids` (billing.domain.stages.STAGE_IDS): how the account's CRM names a stage (a number or a code)."""
    if not isinstance(raw, dict):
        raise LadderError("steps", gettext_noop("The reminder settings must be an object."))
    raw_steps = raw.get("steps")
    if raw_steps is None:
        steps = DEFAULT_STEPS
    else:
        if not isinstance(raw_steps, list) or len(raw_steps) > 50:
            raise LadderError("steps", gettext_noop("Steps are a list of at most 50."))
        steps = tuple(step_parse(item, index, stage_ids) for index, item in enumerate(raw_steps))
        seen: dict[str, int] = {}
        for index, step in enumerate(steps):
            if step.key in seen:
                raise LadderError(f"steps.{index}.day",
                                  gettext_noop(
                                      "Step %(step)s repeats step %(other)s: the same day and the same channel."),
                                  step=index + 1, other=seen[step.key] + 1)
            seen[step.key] = index
    hours = {}
    for name, default in (("cutoff_hour", 18), ("quiet_start_hour", 21), ("quiet_end_hour", 9)):
        hours[name] = _int(raw.get(name, default), name, 0, 23, gettext_noop("An hour is a whole number from 0 to 23."))
    postpone = _int(raw.get("postpone_max_days", 7), "postpone_max_days", 0, 90,
                    gettext_noop("A postponement is from 0 to 90 days."))
    end_of_ladder = raw.get("end_of_ladder") or ""
    if end_of_ladder not in ("", *DECISIONS):
        raise LadderError("end_of_ladder", gettext_noop(
            "After the last step: hand to the lawyer, remind monthly, write off, or nothing."))
    return Policy(steps=steps, postpone_max_days=postpone,
                  head_of_sales_user_id=_optional_int(raw.get("head_of_sales_user_id"), "head_of_sales_user_id"),
                  lawyer_user_id=_optional_int(raw.get("lawyer_user_id"), "lawyer_user_id"),
                  penalties=penalties_parse(raw.get("penalties")),
                  stages=stages_parse(raw.get("stages"), stage_ids=stage_ids),
                  end_of_ladder=end_of_ladder, **hours)


def penalties_parse(raw: Any) -> Penalties | None:
    """None or {"enabled": false}: no fees. Otherwise exactly one of fixed / percent_per_day, cap optional."""
    if raw is None or (isinstance(raw, dict) and not raw.get("enabled", True)):
        return None
    if not isinstance(raw, dict):
        raise LadderError("penalties", gettext_noop("Penalties are an object with an amount or a percent."))
    fixed = _decimal(raw.get("fixed"), "penalties.fixed")
    percent = _decimal(raw.get("percent_per_day"), "penalties.percent_per_day")
    cap = _decimal(raw.get("cap"), "penalties.cap")
    if (fixed is None) == (percent is None):
        raise LadderError("penalties.fixed", gettext_noop("Give either a fixed penalty or a percent per day."))
    if percent is not None and not Decimal("0") < percent <= 100:
        raise LadderError("penalties.percent_per_day",
                          gettext_noop("The percent per day is more than zero and at most 100."))
    if fixed is not None and fixed == 0:
        raise LadderError("penalties.fixed", gettext_noop("The penalty must be greater than zero."))
    if cap is not None and cap == 0:
        raise LadderError("penalties.cap", gettext_noop("The penalty cap must be greater than zero."))
    if cap is not None and fixed is not None and fixed > cap:
        raise LadderError("penalties.fixed", gettext_noop("The fixed penalty is more than its cap."))
    grace = _int(raw.get("grace_days", 0), "penalties.grace_days", 0, 365,
                 gettext_noop("Grace days are from 0 to 365."))
    return Penalties(fixed=fixed, percent_per_day=percent, cap=cap, grace_days=grace)


def stages_parse(raw: Any, *, stage_ids: str = "number") -> tuple[tuple[str, StageTarget], ...]:
    """{"overdue_1_30": {"status_id": 1, "pipeline_id": 2}, ...}; a bucket left out (or null) moves nothing.
    An end-of-ladder decision (lawyer, monthly, write_off) may name a stage too: the lead moves when it is made.
    A CRM that names its stages by code: {"overdue_1_30": {"status_id": "C1:UC_LATE", "pipeline_id": 1}}."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise LadderError("stages", gettext_noop("Stages are an object «bucket → stage»."))
    stages = []
    for bucket in STAGE_KEYS:
        value = raw.get(bucket)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise LadderError(f"stages.{bucket}", gettext_noop("Give the stage as an object {status_id, pipeline_id}."))
        status_id, pipeline_id = _stage(value, f"stages.{bucket}", stage_ids, gettext_noop("Choose the stage."))
        stages.append((bucket, StageTarget(status_id=status_id, pipeline_id=pipeline_id)))
    unknown = sorted(set(raw) - set(STAGE_KEYS))
    if unknown:
        raise LadderError(f"stages.{unknown[0]}", gettext_noop("Unknown overdue bucket or decision."))
    return tuple(stages)


LEGACY_ACTION_STEPS = {
    "client_email": ("client_email", Assignee(), None),
    "client_reminder": ("client_sms", Assignee(), None),
    "manager_task": ("manager_task", Assignee(), None),
    "escalate": ("manager_task", Assignee("lawyer"), Action(kind="assign_user", role="lawyer")),
}


def legacy_reminders_steps(reminders: Any) -> tuple[Step, ...]:
    """The old `Account.settings["reminders"]` ([{day, action}]) as ladder steps; duplicates and junk dropped."""
    steps: dict[str, Step] = {}
    for item in reminders if isinstance(reminders, list) else []:
        if not isinstance(item, dict) or item.get("action") not in LEGACY_ACTION_STEPS:
            continue
        day = item.get("day")
        if isinstance(day, bool) or not isinstance(day, int) or not MIN_DAY <= day <= MAX_DAY:
            continue
        channel, assignee, action = LEGACY_ACTION_STEPS[item["action"]]
        step = Step(day=day, channel=channel, assignee=assignee, action=action,
                    after_cutoff=channel == "manager_task" and day == 0)
        steps.setdefault(step.key, step)
    return tuple(sorted(steps.values(), key=lambda step: (step.day, step.channel)))


def policy_dump(policy: Policy) -> dict[str, Any]:
    """The JSON form of a policy (what policy_parse reads back)."""
    def action(value: Action | None) -> dict | None:
        if value is None:
            return None
        data = {"kind": value.kind}
        for name in ("status_id", "pipeline_id", "user_id"):
            if getattr(value, name) is not None:
                data[name] = getattr(value, name)
        if value.role:
            data["role"] = value.role
        for name in ("fixed", "percent_per_day", "cap"):
            if getattr(value, name) is not None:
                data[name] = str(getattr(value, name))
        return data

    penalties = policy.penalties
    return {
        "steps": [{"day": step.day, "channel": step.channel, "template": step.template,
                   "after_cutoff": step.after_cutoff,
                   "assignee": {"kind": step.assignee.kind, "user_id": step.assignee.user_id},
                   "action": action(step.action)} for step in policy.steps],
        "cutoff_hour": policy.cutoff_hour, "quiet_start_hour": policy.quiet_start_hour,
        "quiet_end_hour": policy.quiet_end_hour, "postpone_max_days": policy.postpone_max_days,
        "head_of_sales_user_id": policy.head_of_sales_user_id, "lawyer_user_id": policy.lawyer_user_id,
        "penalties": None if penalties is None else {
            "enabled": True, "fixed": _str_or_none(penalties.fixed),
            "percent_per_day": _str_or_none(penalties.percent_per_day), "cap": _str_or_none(penalties.cap),
            "grace_days": penalties.grace_days},
        "stages": {bucket: {"status_id": target.status_id, "pipeline_id": target.pipeline_id}
                   for bucket, target in policy.stages},
        "end_of_ladder": policy.end_of_ladder,
    }


def _str_or_none(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# --- When things are due --------------------------------------------------------------------------

def step_moment(step: Step, *, due_date: date, cutoff_hour: int) -> datetime:
    """The local (naive) moment a step becomes due."""
    hour = cutoff_hour if step.after_cutoff else 0
    return datetime.combine(due_date + timedelta(days=step.day), time(hour))


@dataclass(frozen=True)
class LinePlan:
    send: tuple[Step, ...] = ()
    skip: tuple[Step, ...] = ()


def line_plan(*, steps: tuple[Step, ...], due_date: date, now_local: datetime, cutoff_hour: int,
              recorded_keys: frozenset[str] | set[str], paused_until: date | None = None) -> LinePlan:
    """The steps to send now for one line, and the missed ones to record as skipped.

    Only the latest due day is sent: after downtime, earlier unrecorded steps are skipped — never a burst,
    never nothing. A step already recorded (sent, failed, skipped) is never planned again.
    """
    if paused_until is not None and now_local.date() < paused_until:
        return LinePlan()
    due = [step for step in steps if step_moment(step, due_date=due_date, cutoff_hour=cutoff_hour) <= now_local]
    if not due:
        return LinePlan()
    latest_day = max(step.day for step in due)
    open_steps = [step for step in due if step.key not in recorded_keys]
    return LinePlan(send=tuple(step for step in open_steps if step.day == latest_day),
                    skip=tuple(step for step in open_steps if step.day < latest_day))


def is_overdue_now(*, due_date: date, now_local: datetime, cutoff_hour: int) -> bool:
    """Unpaid at the cut-off of the due date (or any later moment) means overdue the same day."""
    return now_local >= datetime.combine(due_date, time(cutoff_hour))


def next_allowed(now_local: datetime, *, quiet_start_hour: int, quiet_end_hour: int) -> datetime:
    """`now_local`, or the end of the quiet hours it falls into (e.g. 21:00–09:00 → 09:00)."""
    if quiet_start_hour == quiet_end_hour:
        return now_local
    hour = now_local.hour
    end_today = datetime.combine(now_local.date(), time(quiet_end_hour))
    if quiet_start_hour > quiet_end_hour:  # wraps midnight
        if hour >= quiet_start_hour:
            return end_today + timedelta(days=1)
        if hour < quiet_end_hour:
            return end_today
        return now_local
    if quiet_start_hour <= hour < quiet_end_hour:
        return end_today
    return now_local


@dataclass(frozen=True)
class PostponeDecision:
    allowed: bool  # within the limit: the line's ladder shifts now
    needs_manager: bool  # beyond the limit or asked twice: a manager decides


def postpone_decide(*, due_date: date, requested: date, today: date, max_days: int,
                    already_postponed: bool) -> PostponeDecision:
    """Whether a client's "pay on `requested`" shifts the line by itself; past dates are refused upstream."""
    within = today < requested <= due_date + timedelta(days=max_days)
    if already_postponed or not within:
        return PostponeDecision(allowed=False, needs_manager=True)
    return PostponeDecision(allowed=True, needs_manager=False)


def aging_bucket(days_overdue: int) -> str | None:
    """The aging bucket of a line `days_overdue` late (negative: due in that many days); None: not yet."""
    for name, low, high in AGING_BUCKETS:
        if days_overdue >= low and (high is None or days_overdue <= high):
            return name
    return None


def monthly_steps(*, steps: tuple[Step, ...], days_overdue: int) -> tuple[Step, ...]:
    """"Keep reminding monthly" after the ladder: one more client email and manager task every 30 days."""
    last = max((step.day for step in steps), default=0)
    extra = []
    day = last + MONTHLY_EVERY_DAYS
    while day <= days_overdue:
        extra += [Step(day=day, channel="client_email"), Step(day=day, channel="manager_task")]
        day += MONTHLY_EVERY_DAYS
    return tuple(extra)


def ladder_finished(*, steps: tuple[Step, ...], recorded_keys: frozenset[str] | set[str]) -> bool:
    """Every step of the ladder is recorded: the tick need not read the line again."""
    return all(step.key in recorded_keys for step in steps)


def penalty_due(penalties: Penalties, *, remainder: Decimal, days_overdue: int, charged: Decimal,
                days_since_last_charge: int | None) -> Decimal:
    """The fee to add today for one line: never above the cap, a fixed fee once, a percent per day not yet charged.

    `days_since_last_charge` None: never charged (the days count from the end of the grace period).
    """
    chargeable_days = days_overdue - penalties.grace_days
    if chargeable_days <= 0 or remainder <= 0:
        return Decimal("0.00")
    if penalties.fixed is not None:
        amount = penalties.fixed if charged == 0 else Decimal("0.00")
    else:
        days = chargeable_days if days_since_last_charge is None else min(days_since_last_charge, chargeable_days)
        amount = (remainder * penalties.percent_per_day / 100 * days).quantize(CENT, rounding=ROUND_HALF_UP)
    if penalties.cap is not None:
        amount = min(amount, penalties.cap - charged)
    return max(amount, Decimal("0.00"))


# --- Texts (English msgids; translated by the caller) -----------------------------------------

def money_ru(amount: Decimal) -> str:
    """25000 → «25 000,00 ₽»."""
    value = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    whole, kopecks = f"{abs(value):.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{' '.join(groups)},{kopecks} ₽"


def date_ru(value: date) -> str:
    return f"{value.day:02d}.{value.month:02d}.{value.year}"


def _same(message: str) -> str:
    return message


# What people read is an English msgid here (marked for the catalogue); the service layer passes its
# gettext as `translate`, inside the account's language (billing.texts.in_account_language).
CLIENT_FALLBACK = gettext_noop("on deal No. %(external_id)s")
OVERDUE_TEXT = gettext_noop("The client %(client)s has not paid %(outstanding)s due %(due_date)s, debt %(debt)s")


def client_label(contact_name: str, external_id: int, *, translate: Callable[[str], str] = _same) -> str:
    return contact_name.strip() or translate(CLIENT_FALLBACK) % {"external_id": external_id}


def overdue_text(*, client: str, outstanding: Decimal, due_date: date, debt: Decimal,
                 translate: Callable[[str], str] = _same, money: Callable[[Decimal], str] = money_ru,
                 day: Callable[[date], str] = date_ru) -> str:
    """`money` and `day` write sums and dates in the account's language (billing.texts.money_in, date_in)."""
    return translate(OVERDUE_TEXT) % {"client": client, "outstanding": money(outstanding),
                                      "due_date": day(due_date), "debt": money(debt)}


# The channels' default texts ($-placeholders, filled by step_text). An account's own step template is
# used exactly as the account wrote it; only these defaults go through the catalogue.
DEFAULT_TEMPLATES = {
    "before": gettext_noop("Hello, $client! A reminder: the payment of $amount is due on $due_date. $links"),
    "due": gettext_noop("Hello, $client! Today, $due_date, the payment of $amount is due. $links"),
    "after": gettext_noop("Hello, $client! The payment of $amount due on $due_date has not arrived yet. "
                          "Debt under the contract: $debt. $links"),
    "staff": gettext_noop("The client $client has not paid $amount due $due_date, debt $debt. "
                          "Days overdue: $days_overdue. Reminder step: day $day."),
}


def step_text(step: Step, *, client: str, amount: Decimal, due_date: date, debt: Decimal, days_overdue: int,
              links: str, translate: Callable[[str], str] = _same, money: Callable[[Decimal], str] = money_ru,
              day: Callable[[date], str] = date_ru) -> str:
    """The step's text: its own template (as written) or the channel's default (through `translate`),
    with $-placeholders filled."""
    if step.template:
        template = step.template
    elif not step.is_client:
        template = translate(DEFAULT_TEMPLATES["staff"])
    else:
        template = translate(DEFAULT_TEMPLATES["before" if step.day < 0 else "due" if step.day == 0 else "after"])
    values = {"client": client, "amount": money(amount), "due_date": day(due_date), "debt": money(debt),
              "days_overdue": str(max(days_overdue, 0)), "day": f"{step.day:+d}", "links": links}
    return Template(template).safe_substitute(values).strip()


def postpone_not_before(*, today: date, due: date) -> date:
    """A postponement must move the line past both its due date and today."""
    return max(today, due)
