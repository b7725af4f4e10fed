"""The schedule engine: a plan request in, dated installments that add up to the debt out."""
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, Decimal
from itertools import pairwise
from typing import Literal

from billing.domain import status
from billing.domain.calendar import DueDay, Period, regular_due_dates
from billing.domain.interest import (
    INTEREST_KINDS,
    InterestError,
    InterestTerms,
    default_start,
    effective_annual_rate,
    interest_lines,
)
from billing.domain.money import CENT, MAX_AMOUNT, ZERO, floor_to_unit, money

PlanKind = Literal["equal", "full", "custom", "recurring", "annuity", "differentiated"]
InstallmentKind = Literal["down_payment", "regular", "extra", "fee"]

MAX_INSTALLMENTS = 120
MAX_EXTRA_CHARGES = 24
ROUNDING_UNITS = (Decimal("0.01"), Decimal("1"), Decimal("100"))
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)
# On one date: the down payment first, then the regular line, then extra charges.
KIND_ORDER = {"down_payment": 0, "regular": 1, "extra": 2, "fee": 3}
DEFAULT_LABELS = {"down_payment": "Down payment", "regular": "Installment", "extra": "Extra charge"}


def gettext_noop(message: str) -> str:
    """Marks an English message for the gettext catalogue (makemessages finds it by this name) without
    importing Django: the service layer translates `PlanError.template` with `params` at the edge."""
    return message


class PlanError(ValueError):
    """A plan request that cannot be planned; `field` names the request field at fault (a row of a list
    as `items.1.due_date`). `template % params` is the English message; the edge translates `template`."""

    def __init__(self, field: str, template: str, **params: object) -> None:
        self.field = field
        self.template = template
        self.params = params
        self.message = template % params if params else template
        super().__init__(self.message)


@dataclass(frozen=True)
class DownPayment:
    amount: Decimal
    due_date: date | None = None


@dataclass(frozen=True)
class ExtraCharge:
    label: str
    amount: Decimal
    due_date: date | None = None


@dataclass(frozen=True)
class CustomItem:
    due_date: date
    amount: Decimal  # the whole payment of the line
    interest: Decimal = ZERO  # of which interest (an interest plan rebuilt as items, e.g. after an early payoff)


@dataclass(frozen=True)
class PlanRequest:
    plan: PlanKind
    total: Decimal
    first_due_date: date | None = None
    already_paid: Decimal = ZERO
    down_payment: DownPayment | None = None
    installments_count: int | None = None
    installment_amount: Decimal | None = None
    period: Period = "month"
    due_day: DueDay = None
    rounding: Decimal = CENT
    extra_charges: tuple[ExtraCharge, ...] = ()
    items: tuple[CustomItem, ...] = ()
    every: int = 1  # recurring: a payment every N periods (N weeks, N months)
    # Interest plans (annuity, differentiated): billing.domain.interest states the conventions.
    annual_rate: Decimal = ZERO  # percent a year
    day_count: str = "actual/365"
    grace_periods: int = 0  # the first lines carry interest only
    start_date: date | None = None  # interest accrues from; None: one period before the first due date
    # A custom plan rebuilt from an interest plan (an early payoff): the kind whose terms above it keeps, so
    # the next early payoff recomputes interest the same way. The engine reads only the items' interest.
    interest_plan: str = ""


@dataclass(frozen=True)
class PlannedInstallment:
    seq: int
    due_date: date
    amount: Decimal
    kind: InstallmentKind
    label: str
    interest: Decimal = ZERO  # the part of `amount` that is interest; the rest is principal

    @property
    def principal(self) -> Decimal:
        return self.amount - self.interest


@dataclass(frozen=True)
class Plan:
    total: Decimal  # the deal budget plus extra charges plus interest
    already_paid: Decimal
    debt: Decimal  # what the installments add up to
    installments: tuple[PlannedInstallment, ...] = field(default_factory=tuple)
    interest_total: Decimal = ZERO
    effective_rate: Decimal | None = None  # interest plans: percent a year, billing.domain.interest

    @property
    def regular_amount(self) -> Decimal | None:
        return status.monthly_payment(self.installments)

    @property
    def last_due_date(self) -> date | None:
        return status.last_due_date(self.installments)


def plan_build(request: PlanRequest) -> Plan:
    """Build the installments of a plan, or raise PlanError naming the field at fault."""
    if request.plan == "recurring":
        # Imported here: the recurring engine builds on this module's types.
        from billing.domain.recurring import recurring_plan, terms_from_request

        return recurring_plan(terms_from_request(
            price=request.installment_amount, start_date=request.first_due_date, period=request.period,
            every=request.every, due_day=request.due_day))
    _check_dates(request)
    total = _positive(request.total, "total")
    already_paid = money(request.already_paid)
    if already_paid < ZERO:
        raise PlanError("already_paid", gettext_noop("Already paid cannot be negative."))
    if already_paid >= total:
        raise PlanError("already_paid", gettext_noop("Already paid must be less than the total: nothing is left to "
                                                     "plan."))
    down = _down_payment_line(request, total - already_paid)
    regular_part = total - already_paid - (down.amount if down else ZERO)
    regular = _regular_lines(request, regular_part)
    extras = _extra_lines(request)
    lines = ([down] if down else []) + regular + extras
    _check_order(lines, down)
    ordered = sorted(lines, key=lambda line: (line.due_date, KIND_ORDER[line.kind]))
    installments = tuple(
        PlannedInstallment(seq=index, due_date=line.due_date, amount=line.amount, kind=line.kind,
                           label=line.label, interest=line.interest)
        for index, line in enumerate(ordered, start=1)
    )
    extras_total = sum((line.amount for line in extras), ZERO)
    interest_total = sum((line.interest for line in regular), ZERO)
    plan = Plan(total=total + extras_total + interest_total, already_paid=already_paid,
                debt=total - already_paid + extras_total + interest_total, installments=installments,
                interest_total=interest_total, effective_rate=_effective_rate(request, regular, regular_part))
    if plan.total > MAX_AMOUNT:
        raise PlanError("total", gettext_noop("The total with extra charges is too large."))
    return plan


@dataclass(frozen=True)
class _Line:
    due_date: date
    amount: Decimal
    kind: InstallmentKind
    label: str
    interest: Decimal = ZERO


def _positive(value: Decimal, field_name: str) -> Decimal:
    amount = money(value)
    if amount <= ZERO:
        raise PlanError(field_name, gettext_noop("Must be greater than zero."))
    if amount > MAX_AMOUNT:
        raise PlanError(field_name, gettext_noop("Is too large."))
    return amount


def _check_date(value: date | None, field_name: str) -> None:
    if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
        raise PlanError(field_name, gettext_noop("Must be between %(earliest)s and %(latest)s."),
                        earliest=EARLIEST_DATE.strftime("%d.%m.%Y"), latest=LATEST_DATE.strftime("%d.%m.%Y"))


def _check_dates(request: PlanRequest) -> None:
    _check_date(request.first_due_date, "first_due_date")
    if request.down_payment:
        _check_date(request.down_payment.due_date, "down_payment")
    for index, charge in enumerate(request.extra_charges):
        _check_date(charge.due_date, f"extra_charges.{index}.due_date")
    for index, item in enumerate(request.items):
        _check_date(item.due_date, f"items.{index}.due_date")


def _first_date(request: PlanRequest) -> date:
    if request.first_due_date is None:
        raise PlanError("first_due_date", gettext_noop("The first due date is required."))
    return request.first_due_date


def _down_payment_line(request: PlanRequest, plannable: Decimal) -> _Line | None:
    if request.down_payment is None:
        return None
    amount = _positive(request.down_payment.amount, "down_payment")
    if amount >= plannable:
        raise PlanError("down_payment", gettext_noop("The down payment must be less than the debt; use the full plan."))
    due_date = request.down_payment.due_date or _first_date(request)
    return _Line(due_date, amount, "down_payment", DEFAULT_LABELS["down_payment"])


def _regular_lines(request: PlanRequest, regular_part: Decimal) -> list[_Line]:
    if request.plan == "custom":
        return _custom_lines(request, regular_part)
    first = _first_date(request)
    if request.plan == "full":
        return [_Line(first, regular_part, "regular", DEFAULT_LABELS["regular"])]
    if request.plan == "equal":
        amounts = _equal_amounts(request, regular_part)
        _check_period(request)
        dates = regular_due_dates(first, len(amounts), request.period, request.due_day)
        if dates[-1] > LATEST_DATE:
            raise PlanError("installments_count", gettext_noop("The plan would end after 2100."))
        return [_Line(day, amount, "regular", DEFAULT_LABELS["regular"])
                for day, amount in zip(dates, amounts, strict=True)]
    if request.plan in INTEREST_KINDS:
        return _interest_lines(request, regular_part)
    raise PlanError("plan", gettext_noop("Choose equal payments, one payment or a custom plan."))


INTEREST_MESSAGES = {
    "kind": gettext_noop("Choose an annuity or a differentiated plan."),
    "day_count": gettext_noop('The day count must be "actual/365", "actual/actual" or "30/360".'),
    "rate": gettext_noop("The interest rate must be from 0 to 1000 % a year."),
    "grace_negative": gettext_noop("The grace period cannot be negative."),
    "grace_too_long": gettext_noop("The grace period must be shorter than the plan."),
    "start_after_first": gettext_noop("Interest cannot start after the first due date."),
    "too_many": gettext_noop("Too many payments for this amount and rounding unit."),
    "zero_line": gettext_noop("A payment of this plan would be zero: raise the rate or shorten the grace period."),
    "payment_missing": gettext_noop("Give either the number of payments or the payment amount, one of them."),
    "too_long": gettext_noop("This amount would need more than %(max)s payments."),
    "below_interest": gettext_noop("The payment does not even cover the interest of %(interest)s."),
}


def _interest_lines(request: PlanRequest, regular_part: Decimal) -> list[_Line]:
    first = _first_date(request)
    _check_period(request)
    count, amount = request.installments_count, request.installment_amount
    if (count is None) == (amount is None):
        raise PlanError("installments_count", gettext_noop("Give either the number of payments or the payment amount, "
                                                           "one of them."))
    if request.rounding not in ROUNDING_UNITS:
        raise PlanError("rounding", gettext_noop('Rounding must be "0.01", "1" or "100".'))
    if count is not None and not 1 <= count <= MAX_INSTALLMENTS:
        raise PlanError("installments_count", gettext_noop("Number of payments must be "
                                                           "1..%(max)s."), max=MAX_INSTALLMENTS)
    if not isinstance(request.grace_periods, int) or request.grace_periods < 0:
        raise PlanError("grace_periods", INTEREST_MESSAGES["grace_negative"])
    start = request.start_date or default_start(first, request.period)
    _check_date(start, "start_date")
    dates = regular_due_dates(first, count or MAX_INSTALLMENTS, request.period, request.due_day)
    terms = InterestTerms(
        kind=request.plan, principal=regular_part, annual_rate=Decimal(request.annual_rate),
        dates=tuple(dates), start_date=start, period=request.period, day_count=request.day_count,
        grace_periods=request.grace_periods, count=count,
        payment=None if amount is None else _positive(amount, "installment_amount"), rounding=request.rounding)
    try:
        lines = interest_lines(terms)
    except InterestError as exc:
        raise PlanError(exc.field, INTEREST_MESSAGES[exc.reason], **exc.params) from exc
    if lines[-1].due_date > LATEST_DATE:
        raise PlanError("installments_count", gettext_noop("The plan would end after 2100."))
    return [_Line(line.due_date, line.amount, "regular", DEFAULT_LABELS["regular"], line.interest)
            for line in lines]


def _effective_rate(request: PlanRequest, regular: list[_Line], regular_part: Decimal) -> Decimal | None:
    """Interest plans: the effective annual rate of the amount financed and its regular lines."""
    if request.plan not in INTEREST_KINDS or not regular:
        return None
    start = request.start_date or default_start(_first_date(request), request.period)
    return effective_annual_rate(start_date=start, principal=regular_part,
                                 flows=[(line.due_date, line.amount) for line in regular])


def _check_period(request: PlanRequest) -> None:
    if request.period not in ("month", "2weeks", "week", "quarter"):
        raise PlanError("period", gettext_noop("Choose a period: a month, two weeks, a week or a quarter."))
    if request.due_day is None:
        return
    if request.period not in ("month", "quarter"):
        raise PlanError("due_day", gettext_noop("A day of the month applies only to monthly and quarterly plans."))
    if request.due_day != "last" and not (isinstance(request.due_day, int) and 1 <= request.due_day <= 31):
        raise PlanError("due_day", gettext_noop('Day of month must be 1..31 or "last".'))


def _equal_amounts(request: PlanRequest, regular_part: Decimal) -> list[Decimal]:
    count, amount = request.installments_count, request.installment_amount
    if (count is None) == (amount is None):
        raise PlanError("installments_count", gettext_noop("Give either the number of payments or the payment amount, "
                                                           "one of them."))
    if request.rounding not in ROUNDING_UNITS:
        raise PlanError("rounding", gettext_noop('Rounding must be "0.01", "1" or "100".'))
    if amount is not None:
        step = _positive(amount, "installment_amount")
        count = int((regular_part / step).to_integral_value(rounding=ROUND_CEILING))
        if count > MAX_INSTALLMENTS:
            raise PlanError("installment_amount", gettext_noop("This amount would need more than %(max)s payments."),
                            max=MAX_INSTALLMENTS)
        return [step] * (count - 1) + [regular_part - step * (count - 1)]
    if not 1 <= count <= MAX_INSTALLMENTS:
        raise PlanError("installments_count", gettext_noop("Number of payments must be "
                                                           "1..%(max)s."), max=MAX_INSTALLMENTS)
    base = floor_to_unit(regular_part / count, request.rounding)
    if base <= ZERO:
        raise PlanError("installments_count", gettext_noop("Too many payments for this amount and rounding unit."))
    return [base] * (count - 1) + [regular_part - base * (count - 1)]


def _custom_lines(request: PlanRequest, regular_part: Decimal) -> list[_Line]:
    if not request.items:
        raise PlanError("items", gettext_noop("A custom plan needs at least one payment."))
    if len(request.items) > MAX_INSTALLMENTS:
        raise PlanError("items", gettext_noop("A plan has at most %(max)s regular payments."), max=MAX_INSTALLMENTS)
    lines = [_Line(item.due_date, _positive(item.amount, f"items.{index}.amount"), "regular",
                   DEFAULT_LABELS["regular"], _item_interest(item, index))
             for index, item in enumerate(request.items)]
    for index, (earlier, later) in enumerate(pairwise(lines), start=1):
        if later.due_date <= earlier.due_date:
            raise PlanError(f"items.{index}.due_date", gettext_noop("The date must be later than the previous row's."))
    items_sum = sum((line.amount - line.interest for line in lines), ZERO)
    if items_sum != regular_part:
        raise PlanError("items", gettext_noop("The payments add up to %(sum)s, but %(left)s is left to plan."),
                        sum=items_sum, left=regular_part)
    return lines


def _item_interest(item: CustomItem, index: int) -> Decimal:
    interest = money(item.interest or ZERO)
    if interest < ZERO or interest > money(item.amount):
        raise PlanError(f"items.{index}.interest", gettext_noop("Interest must be from zero to the payment."))
    return interest


def _extra_lines(request: PlanRequest) -> list[_Line]:
    if len(request.extra_charges) > MAX_EXTRA_CHARGES:
        raise PlanError("extra_charges", gettext_noop("A plan has at most %(max)s extra "
                                                      "charges."), max=MAX_EXTRA_CHARGES)
    return [
        _Line(charge.due_date or _first_date(request), _positive(charge.amount, f"extra_charges.{index}.amount"),
              "extra", (charge.label or "").strip() or DEFAULT_LABELS["extra"])
        for index, charge in enumerate(request.extra_charges)
    ]


def _check_order(lines: list[_Line], down: _Line | None) -> None:
    regular = [line for line in lines if line.kind == "regular"]
    if down is not None and regular and down.due_date > regular[0].due_date:
        raise PlanError("down_payment", gettext_noop("The down payment cannot be due after the first regular payment."))
