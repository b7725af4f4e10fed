"""A plan request as complete, normalised JSON, and rebuilding one from the lines of an old version.

The stored request is what the rebuild dialog opens with, so it must name every choice the manager made
(period, day of month, rounding, down payment, extra charges...) with defaults filled in: a rebuild that
nobody touched then computes exactly the lines of the active version.
"""
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.domain.calendar import month_end, regular_due_dates
from billing.domain.interest import INTEREST_KINDS, default_start
from billing.domain.money import CENT, ZERO, money
from billing.domain.schedule import (
    DEFAULT_LABELS,
    ROUNDING_UNITS,
    CustomItem,
    DownPayment,
    ExtraCharge,
    PlanError,
    PlanRequest,
    plan_build,
)

PLAN_FIELDS = ("plan", "total", "already_paid", "down_payment", "installments_count", "installment_amount",
               "first_due_date", "period", "due_day", "rounding", "extra_charges", "items")
INTEREST_FIELDS = ("annual_rate", "day_count", "grace_periods", "start_date")
OPTION_FIELDS = ("direction", "group", "education_direction", "autopay", "manager_id")
REQUEST_FIELDS = PLAN_FIELDS + OPTION_FIELDS
PERIODS = ("month", "2weeks", "week", "quarter")


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else str(money(value))


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _rounding(unit: Decimal) -> str:
    return {Decimal("0.01"): "0.01", Decimal("1"): "1", Decimal("100"): "100"}.get(unit, str(unit))


def plan_request_as_dict(request: PlanRequest) -> dict:
    """Every plan field of `request` as contract JSON, with the dates the engine would default resolved:
    a down payment or an extra charge without a date is due on the first due date."""
    first = request.first_due_date
    down = request.down_payment
    recurring = {"every": request.every, "state": "active", "reason": ""} if request.plan == "recurring" else {}
    # Interest plans name their rate and conventions, the start resolved: a rebuild computes the same lines.
    interest = {"annual_rate": format(Decimal(request.annual_rate).normalize(), "f"), "day_count": request.day_count,
                "grace_periods": request.grace_periods,
                "start_date": _day(request.start_date or (default_start(first, request.period) if first else None)),
                } if request.plan in INTEREST_KINDS or request.interest_plan else {}
    if request.plan not in INTEREST_KINDS and request.interest_plan:
        interest["interest_plan"] = request.interest_plan
    return recurring | interest | {
        "plan": request.plan,
        "total": _amount(request.total),
        "already_paid": _amount(request.already_paid),
        "down_payment": None if down is None else {"amount": _amount(down.amount),
                                                   "due_date": _day(down.due_date or first)},
        "installments_count": request.installments_count,
        "installment_amount": _amount(request.installment_amount),
        "first_due_date": _day(first),
        "period": request.period,
        "due_day": request.due_day,
        "rounding": _rounding(request.rounding),
        "extra_charges": [{"label": (charge.label or "").strip(), "amount": _amount(charge.amount),
                           "due_date": _day(charge.due_date or first)} for charge in request.extra_charges],
        "items": [{"due_date": _day(item.due_date), "amount": _amount(item.amount)}
                  | ({"interest": _amount(item.interest)} if item.interest else {}) for item in request.items],
    }


def _parse_day(value) -> date | None:
    return date.fromisoformat(value) if value else None


def _parse_amount(value) -> Decimal | None:
    return None if value is None or value == "" else money(str(value))


def plan_request_from_dict(data: dict) -> PlanRequest:
    """The PlanRequest of a stored (normalised) request; fields it lacks take the contract's defaults."""
    down = data.get("down_payment")
    return PlanRequest(
        plan=data.get("plan") or "equal", total=_parse_amount(data.get("total")) or ZERO,
        first_due_date=_parse_day(data.get("first_due_date")),
        already_paid=_parse_amount(data.get("already_paid")) or ZERO,
        down_payment=DownPayment(_parse_amount(down["amount"]), _parse_day(down.get("due_date"))) if down else None,
        installments_count=data.get("installments_count"),
        installment_amount=_parse_amount(data.get("installment_amount")),
        period=data.get("period") or "month", due_day=data.get("due_day"),
        rounding=Decimal(str(data.get("rounding") or "0.01")),
        extra_charges=tuple(ExtraCharge(charge.get("label") or "", _parse_amount(charge["amount"]),
                                        _parse_day(charge.get("due_date")))
                            for charge in data.get("extra_charges") or ()),
        items=tuple(CustomItem(_parse_day(item["due_date"]), _parse_amount(item["amount"]),
                               _parse_amount(item.get("interest")) or ZERO)
                    for item in data.get("items") or ()),
        every=int(data.get("every") or 1),
        annual_rate=Decimal(str(data.get("annual_rate") or "0")), day_count=data.get("day_count") or "actual/365",
        grace_periods=int(data.get("grace_periods") or 0), start_date=_parse_day(data.get("start_date")),
        interest_plan=data.get("interest_plan") or "" if data.get("interest_plan") in INTEREST_KINDS else "",
    )


@dataclass(frozen=True)
class StoredLine:
    """One installment of a stored version, as the reconstruction reads it."""

    seq: int
    kind: str
    label: str
    due_date: date
    amount: Decimal


def _signature(lines) -> list[tuple]:
    return [(line.seq, line.kind, line.due_date, money(line.amount)) for line in lines]


def _reproduces(request: PlanRequest, lines: Sequence[StoredLine]) -> bool:
    try:
        plan = plan_build(request)
    except (PlanError, ArithmeticError, TypeError, ValueError):  # an old request this engine refuses
        return False
    return _signature(plan.installments) == _signature(lines)


def _calendar_candidates(dates: list[date]) -> list[tuple[str, object]]:
    """(period, due_day) pairs that could have produced `dates`, the plainest first."""
    days = sorted({day.day for day in dates}, reverse=True)
    # A first date on a month's last day reads as "the last day" (30 Apr -> 31 May, not 30 May).
    at_month_end = dates[0].day == month_end(dates[0].year, dates[0].month)
    candidates: list[tuple[str, object]] = []
    for period in ("month", "quarter"):
        plain = [(period, "last"), (period, None)] if at_month_end else [(period, None), (period, "last")]
        candidates += plain + [(period, day) for day in days]
    candidates += [("2weeks", None), ("week", None)]
    return [(period, due_day) for period, due_day in candidates
            if regular_due_dates(dates[0], len(dates), period, due_day) == dates]


def plan_request_reconstruct(*, plan: str, total: Decimal, already_paid: Decimal,
                             lines: Sequence[StoredLine], stored: dict | None = None) -> dict:
    """A complete plan request that rebuilds exactly `lines` (a version made before requests were stored
    whole): plan kind, count, dates, period from the spacing, day of month, rounding from the amounts,
    down payment and extra charges with their labels.

    `total` is the version's total (extra charges included). Whatever `stored` already says is kept when
    it still rebuilds the same lines. A plan that no equal-plan reading reproduces keeps its kind but lists
    its regular lines as items, so nothing is silently moved."""
    ordered = sorted(lines, key=lambda line: line.seq)
    regular = [line for line in ordered if line.kind == "regular"]
    extras = [line for line in ordered if line.kind == "extra"]
    down = next((line for line in ordered if line.kind == "down_payment"), None)
    budget = money(total) - sum((money(line.amount) for line in extras), ZERO)
    base = {
        "plan": plan, "total": str(budget), "already_paid": str(money(already_paid)),
        "down_payment": {"amount": str(money(down.amount)), "due_date": down.due_date.isoformat()} if down else None,
        "installments_count": None, "installment_amount": None,
        "first_due_date": regular[0].due_date.isoformat() if regular else None,
        "period": "month", "due_day": None, "rounding": "0.01",
        "extra_charges": [{"label": "" if line.label == DEFAULT_LABELS["extra"] else line.label,
                           "amount": str(money(line.amount)), "due_date": line.due_date.isoformat()}
                          for line in extras],
        "items": [],
    }
    candidates = _candidates(base, regular) if plan == "equal" else [_fixed(base, plan, regular)]
    known = {key: value for key, value in (stored or {}).items() if key in PLAN_FIELDS}
    for candidate in ([{**candidate, **known} for candidate in candidates] if known else []) + candidates:
        request = _readable(candidate)
        if request is not None and _reproduces(request, ordered):
            return plan_request_as_dict(request)
    # Nothing reproduces the lines as an equal plan: keep every date and amount as items.
    return {**base, "items": [{"due_date": line.due_date.isoformat(), "amount": str(money(line.amount))}
                              for line in regular]}


def _readable(candidate: dict) -> PlanRequest | None:
    try:
        return plan_request_from_dict(candidate)
    except (ArithmeticError, KeyError, TypeError, ValueError):
        return None


def _fixed(base: dict, plan: str, regular: list[StoredLine]) -> dict:
    if plan == "custom":
        return {**base, "first_due_date": None,
                "items": [{"due_date": line.due_date.isoformat(), "amount": str(money(line.amount))}
                          for line in regular]}
    return base


def _candidates(base: dict, regular: list[StoredLine]) -> list[dict]:
    if not regular:
        return []
    dates = [line.due_date for line in regular]
    amounts = [money(line.amount) for line in regular]
    calendars = _calendar_candidates(dates) or [("month", None)]
    units = [unit for unit in ROUNDING_UNITS if amounts[0] % unit == ZERO] or [CENT]
    found = []
    for period, due_day in calendars:
        for unit in units:
            found.append({**base, "installments_count": len(regular), "period": period, "due_day": due_day,
                          "rounding": _rounding(unit)})
        found.append({**base, "installment_amount": str(amounts[0]), "period": period, "due_day": due_day})
    return found
