"""Plans that start themselves: the account's template, read against one deal's values, and the stage rules.

Pure Python. The account stores `plan_autostart` (billing.domain.account_settings checks it):
- `stage`: the CRM stage whose arrival builds the plan (`pipeline_id` null: that stage id in any pipeline);
- `template`: the plan kind (equal, annuity, differentiated), the count, the period, the day of the month,
  the annual rate and the grace period, the first due date (days after the stage move) and fee lines
  («Госпошлина»); every number is a `ValueSource`: fixed, the deal's own amount, or a deal field;
- `gate`: later stages a deal may reach only after its first payment (else it is moved back, with a note).
The service (billing.services.plan_autostart) runs the rules when the CRM reports a deal's new stage.
"""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from billing.domain.calendar import add_months, month_end
from billing.domain.money import MAX_AMOUNT, ZERO, money
from billing.domain.schedule import MAX_INSTALLMENTS, DownPayment, ExtraCharge, PlanRequest

KINDS = ("equal", "annuity", "differentiated")
PERIODS = ("month", "2weeks", "week", "quarter")
# fixed: the value itself; amount: the deal's own amount (its budget in the CRM); field: a deal custom field.
SOURCES = ("fixed", "amount", "field")
MONEY_VALUES = ("total", "down_payment")  # the values that may be the deal's own amount
NUMBER_VALUES = ("total", "down_payment", "installments_count", "due_day", "annual_rate", "grace_periods")
MAX_FEES = 10
MAX_FIRST_DUE_IN_DAYS = 365
MAX_RATE = Decimal("1000")
PAYOFF_MODES = ("shorten", "lower")
DEFAULT_PAYOFF_MODE = "shorten"


@dataclass(frozen=True)
class ValueSource:
    source: str = "fixed"
    value: Any = None
    field_id: int | None = None


@dataclass(frozen=True)
class FeeLine:
    label: str
    amount: ValueSource


@dataclass(frozen=True)
class PlanTemplate:
    plan: str = "equal"
    total: ValueSource = ValueSource("amount")
    down_payment: ValueSource | None = None
    installments_count: ValueSource = ValueSource("fixed", 6)
    period: str = "month"
    due_day: ValueSource | None = None
    first_due_in_days: int = 0
    annual_rate: ValueSource | None = None
    grace_periods: ValueSource | None = None
    fees: tuple[FeeLine, ...] = ()


@dataclass(frozen=True)
class Stage:
    status_id: int | str  # a number, or the code of a CRM that names its stages by code (`C1:NEW`)
    pipeline_id: int | None = None

    def matches(self, other: "Stage") -> bool:
        """`self` is a rule's stage: a null pipeline matches the stage id in any pipeline."""
        return self.status_id == other.status_id and self.pipeline_id in (None, other.pipeline_id)


@dataclass(frozen=True)
class AutostartRules:
    enabled: bool = False
    stage: Stage | None = None
    template: PlanTemplate | None = None
    gate_enabled: bool = False
    gate_status_ids: tuple[int | str, ...] = ()

    @property
    def watched_status_ids(self) -> frozenset[int | str]:
        """The stages a newly seen deal matters in (the trigger and the gated ones)."""
        ids = set(self.gate_status_ids if self.gate_enabled else ())
        if self.enabled and self.stage is not None:
            ids.add(self.stage.status_id)
        return frozenset(ids)


@dataclass(frozen=True)
class DealValues:
    """What the CRM holds for the deal: its own amount (text, may be blank) and its custom fields' texts."""

    amount: str = ""
    fields: dict[int, str] | None = None
    field_names: dict[int, str] | None = None

    def field_name(self, field_id: int | None) -> str:
        return (self.field_names or {}).get(field_id or 0) or f"#{field_id}"


class TemplateValueMissing(ValueError):
    """The template reads `key` from a deal value the deal does not have (blank or not a number)."""

    def __init__(self, key: str, source: ValueSource, reason: str = "blank") -> None:
        super().__init__(key)
        self.key, self.source, self.reason = key, source, reason


# --- reading the stored JSON ----------------------------------------------------------------------
def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _stage_id(value: Any) -> int | str | None:
    """A stored stage id: a number, or a stage code (`C1:NEW`); anything else reads as none."""
    if isinstance(value, str):
        return value.strip() or None
    return _int(value)


def value_source_read(raw: Any) -> ValueSource | None:
    if not isinstance(raw, dict):
        return None
    source = raw.get("source") if raw.get("source") in SOURCES else "fixed"
    return ValueSource(source=source, value=raw.get("value"), field_id=_int(raw.get("field_id")))


def template_read(raw: Any) -> PlanTemplate | None:
    if not isinstance(raw, dict):
        return None
    fees = tuple(FeeLine(str(fee.get("label") or "").strip(), value_source_read(fee.get("amount")) or ValueSource())
                 for fee in raw.get("fees") or [] if isinstance(fee, dict))
    return PlanTemplate(
        plan=raw.get("plan") if raw.get("plan") in KINDS else "equal",
        total=value_source_read(raw.get("total")) or ValueSource("amount"),
        down_payment=value_source_read(raw.get("down_payment")),
        installments_count=value_source_read(raw.get("installments_count")) or ValueSource("fixed", 6),
        period=raw.get("period") if raw.get("period") in PERIODS else "month",
        due_day=value_source_read(raw.get("due_day")),
        first_due_in_days=_int(raw.get("first_due_in_days")) or 0,
        annual_rate=value_source_read(raw.get("annual_rate")),
        grace_periods=value_source_read(raw.get("grace_periods")),
        fees=fees)


def rules_read(stored: Any) -> AutostartRules:
    """The account's `plan_autostart` as typed rules; junk reads as "off"."""
    raw = stored.get("plan_autostart") if isinstance(stored, dict) else None
    if not isinstance(raw, dict):
        return AutostartRules()
    stage_raw = raw.get("stage") if isinstance(raw.get("stage"), dict) else {}
    status_id = _stage_id(stage_raw.get("status_id"))
    stage = Stage(status_id, _int(stage_raw.get("pipeline_id"))) if status_id else None
    gate = raw.get("gate") if isinstance(raw.get("gate"), dict) else {}
    gate_ids = tuple(item for item in gate.get("status_ids") or [] if _stage_id(item))
    template = template_read(raw.get("template"))
    return AutostartRules(enabled=bool(raw.get("enabled")) and stage is not None and template is not None,
                          stage=stage, template=template, gate_enabled=bool(gate.get("enabled")) and bool(gate_ids),
                          gate_status_ids=gate_ids)


def payoff_mode_read(stored: Any) -> str:
    mode = stored.get("early_payoff_mode") if isinstance(stored, dict) else None
    return mode if mode in PAYOFF_MODES else DEFAULT_PAYOFF_MODE


# --- values ---------------------------------------------------------------------------------------
def number_parse(text: Any) -> Decimal | None:
    """«160 000,50», "160000.50", 160000 → Decimal; None for anything else (blank, words, NaN)."""
    if isinstance(text, bool) or text is None:
        return None
    if isinstance(text, int | Decimal):
        return Decimal(text)
    cleaned = str(text).replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
    cleaned = cleaned.removesuffix("₽").removesuffix("руб.").removesuffix("руб")
    if not cleaned:
        return None
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def value_resolve(key: str, source: ValueSource, values: DealValues) -> Decimal:
    """The number a template entry stands for on this deal, or TemplateValueMissing."""
    if source.source == "fixed":
        raw = source.value
    elif source.source == "amount":
        raw = values.amount
    else:
        raw = (values.fields or {}).get(source.field_id or 0, "")
    if raw is None or str(raw).strip() == "":
        raise TemplateValueMissing(key, source)
    number = number_parse(raw)
    if number is None:
        raise TemplateValueMissing(key, source, reason="not_a_number")
    return number


def _whole(key: str, source: ValueSource, values: DealValues) -> int:
    number = value_resolve(key, source, values)
    if number != number.to_integral_value():
        raise TemplateValueMissing(key, source, reason="not_a_number")
    return int(number)


def first_due_date(today: date, template: PlanTemplate, due_day: int | str | None) -> date:
    """`first_due_in_days` after today; with a day of the month, the first such day on or after it."""
    start = today + timedelta(days=template.first_due_in_days)
    if due_day is None or template.period not in ("month", "quarter"):
        return start
    day = month_end(start.year, start.month) if due_day == "last" else min(int(due_day),
                                                                          month_end(start.year, start.month))
    candidate = start.replace(day=day)
    return candidate if candidate >= start else add_months(candidate, 1, due_day)


def template_request(*, template: PlanTemplate, values: DealValues, today: date) -> PlanRequest:
    """The plan request the template gives for this deal; TemplateValueMissing names the entry whose deal
    value is missing. The schedule engine checks the rest (PlanError names the request field)."""
    total = money(value_resolve("total", template.total, values))
    count = _whole("installments_count", template.installments_count, values)
    due_day: int | str | None = None
    if template.due_day is not None:
        due_day = ("last" if template.due_day.source == "fixed" and template.due_day.value == "last"
                   else _whole("due_day", template.due_day, values))
    rate = value_resolve("annual_rate", template.annual_rate, values) if template.annual_rate else ZERO
    grace = _whole("grace_periods", template.grace_periods, values) if template.grace_periods else 0
    down = money(value_resolve("down_payment", template.down_payment, values)) if template.down_payment else None
    fees = tuple(ExtraCharge(fee.label, money(value_resolve(f"fees.{index}.amount", fee.amount, values)))
                 for index, fee in enumerate(template.fees))
    first = first_due_date(today, template, due_day)
    return PlanRequest(plan=template.plan, total=total, first_due_date=first, installments_count=count,
                       period=template.period, due_day=due_day if template.period in ("month", "quarter") else None,
                       annual_rate=rate if template.plan != "equal" else ZERO,
                       grace_periods=grace if template.plan != "equal" else 0,
                       down_payment=DownPayment(down, first) if down else None, extra_charges=fees)


# --- what a stage change means ---------------------------------------------------------------------
@dataclass(frozen=True)
class StageDecision:
    """`build`: the trigger stage was reached; `gate_back_to`: the stage the deal must go back to."""

    build: bool = False
    gate_back_to: Stage | None = None


def stage_decide(*, rules: AutostartRules, stage: Stage, previous: Stage | None, first_payment: bool) -> StageDecision:
    """The deal is now in `stage` (it was in `previous`; None: not seen before)."""
    if rules.enabled and rules.stage is not None and rules.stage.matches(stage):
        return StageDecision(build=True)
    if rules.gate_enabled and stage.status_id in rules.gate_status_ids and not first_payment:
        if previous is not None and previous != stage and previous.status_id not in rules.gate_status_ids:
            return StageDecision(gate_back_to=previous)
        if rules.stage is not None:
            return StageDecision(gate_back_to=Stage(rules.stage.status_id, rules.stage.pipeline_id
                                                    or stage.pipeline_id))
    return StageDecision()


__all__ = ["DEFAULT_PAYOFF_MODE", "KINDS", "MAX_AMOUNT", "MAX_FEES", "MAX_FIRST_DUE_IN_DAYS", "MAX_INSTALLMENTS",
           "MAX_RATE", "MONEY_VALUES", "NUMBER_VALUES", "PAYOFF_MODES", "PERIODS", "SOURCES", "AutostartRules",
           "DealValues", "FeeLine", "PlanTemplate", "Stage", "StageDecision", "TemplateValueMissing", "ValueSource",
           "payoff_mode_read", "rules_read", "stage_decide", "template_request"]
