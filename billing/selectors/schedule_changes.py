"""What a proposed plan changes against the deal's active version: lines «было → стало», the labels and
options that differ, and which live invoices would be cancelled, kept or issued again."""
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from billing.domain.account_settings import invoicing_read
from billing.domain.schedule import Plan, PlannedInstallment
from billing.models import Deal, Direction, Installment, Invoice, Schedule
from billing.time import account_today


@dataclass(frozen=True)
class LineSide:
    kind: str
    label: str
    due_date: date
    amount: Decimal
    interest: Decimal = Decimal("0.00")  # interest plans: the part of `amount` that is interest


@dataclass(frozen=True)
class LineChange:
    seq: int
    change: str  # "changed" | "added" | "removed"
    was: LineSide | None
    becomes: LineSide | None


@dataclass(frozen=True)
class FieldChange:
    field: str
    was: object
    becomes: object


@dataclass(frozen=True)
class InvoiceChange:
    id: int
    number: str
    installment_seq: int
    amount: Decimal
    due_date: date | None = None  # for a re-issued one: the new line's due date and amount
    new_amount: Decimal | None = None


@dataclass(frozen=True)
class ScheduleChanges:
    base_version: int
    unchanged: bool
    lines: list[LineChange] = field(default_factory=list)
    fields: list[FieldChange] = field(default_factory=list)
    invoices_cancelled: list[InvoiceChange] = field(default_factory=list)
    invoices_reissued: list[InvoiceChange] = field(default_factory=list)
    invoices_kept: list[InvoiceChange] = field(default_factory=list)


def active_options(*, deal: Deal, schedule: Schedule) -> dict:
    """The non-money choices of the active version, keyed as the plan request names them."""
    return {"direction": schedule.direction, "group": deal.group, "education_direction": deal.education_direction,
            "autopay": schedule.autopay, "manager_id": schedule.manager_id,
            "requisites": deal.payout_requisites, "payoff_mode": (schedule.request or {}).get("payoff_mode") or ""}


def plan_with_fees_kept(*, deal: Deal, plan: Plan, direction: str) -> tuple[Plan, dict[int, int]]:
    """A plan request never holds late fees, so a rebuild from it would drop them: the active version's fee
    lines are carried over (same label, date and amount, numbered after the plan's own lines) and added to
    its total and debt. Returns the plan to store and the fee lines' seq moves (old → new)."""
    if direction != Direction.INCOMING:
        return plan, {}
    fees = list(Installment.objects.filter(schedule__deal=deal, schedule__is_active=True,
                                           kind=Installment.Kind.FEE).order_by("seq"))
    if not fees:
        return plan, {}
    first = max((line.seq for line in plan.installments), default=0) + 1
    carried = tuple(PlannedInstallment(seq=first + index, due_date=fee.due_date, amount=fee.amount, kind="fee",
                                       label=fee.label) for index, fee in enumerate(fees))
    added = sum((fee.amount for fee in fees), Decimal("0.00"))
    moves = {fee.seq: line.seq for fee, line in zip(fees, carried, strict=True)}
    return replace(plan, total=plan.total + added, debt=plan.debt + added,
                   installments=plan.installments + carried), moves


def _line_changes(old: list[Installment], plan: Plan) -> list[LineChange]:
    was = {line.seq: LineSide(line.kind, line.label, line.due_date, line.amount, line.interest) for line in old}
    becomes = {line.seq: LineSide(line.kind, line.label, line.due_date, line.amount, line.interest)
               for line in plan.installments}
    changes = []
    for seq in sorted(was.keys() | becomes.keys()):
        before, after = was.get(seq), becomes.get(seq)
        if before == after:
            continue
        change = "added" if before is None else "removed" if after is None else "changed"
        changes.append(LineChange(seq=seq, change=change, was=before, becomes=after))
    return changes


def _field_changes(*, schedule: Schedule, plan: Plan, before: dict, after) -> list[FieldChange]:
    pairs = [("total", schedule.total, plan.total), ("already_paid", schedule.already_paid, plan.already_paid)]
    pairs += [(name, was, getattr(after, name)) for name, was in before.items()]
    return [FieldChange(name, was, becomes) for name, was, becomes in pairs if was != becomes]


def _invoice_changes(*, deal: Deal, old: list[Installment], plan: Plan, direction: str
                     ) -> tuple[list[InvoiceChange], list[InvoiceChange], list[InvoiceChange]]:
    """Mirrors billing.services.invoice_sync.on_schedule_changed: an invoice survives when a new line has its
    line's date, kind and amount and still owes the invoice's amount; the others are cancelled. A cancelled
    one is issued again by the billing run when its line number is still there and already due for an invoice."""
    by_id = {line.pk: line for line in old}
    live = Invoice.objects.filter(installment_id__in=by_id, status__in=Invoice.LIVE_STATUSES).order_by("id")
    new_lines = {(line.due_date, line.kind, line.amount): line for line in plan.installments}
    new_by_seq = {line.seq: line for line in plan.installments}
    lead_days = invoicing_read(deal.account.settings).lead_days
    invoice_until = account_today(deal.account) + timedelta(days=lead_days)
    kept, cancelled, reissued = [], [], []
    for invoice in live:
        line = by_id[invoice.installment_id]
        ref = InvoiceChange(id=invoice.pk, number=invoice.number, installment_seq=line.seq, amount=invoice.amount)
        successor = new_lines.pop((line.due_date, line.kind, line.amount), None)
        if successor is not None and line.amount - line.paid == invoice.amount:
            kept.append(ref)
            continue
        cancelled.append(ref)
        again = new_by_seq.get(line.seq)
        if again is not None and direction == Direction.INCOMING and again.due_date <= invoice_until:
            reissued.append(InvoiceChange(id=invoice.pk, number=invoice.number, installment_seq=again.seq,
                                          amount=invoice.amount, due_date=again.due_date, new_amount=again.amount))
    return cancelled, reissued, kept


def proposal_changes_get(*, deal: Deal, plan: Plan, options) -> ScheduleChanges | None:
    """What approving a proposed `plan` would change. A proposal's request holds no late fees, and approval
    carries them over (schedule_replace), so the preview carries them too: they are not shown as removed."""
    kept, _fee_moves = plan_with_fees_kept(deal=deal, plan=plan, direction=options.direction)
    return schedule_changes_get(deal=deal, plan=kept, options=options)


def schedule_changes_get(*, deal: Deal, plan: Plan, options) -> ScheduleChanges | None:
    """The difference between `plan` (with `options`, a services.ScheduleOptions) and the deal's active
    version; None when the deal has no plan yet."""
    schedule = Schedule.objects.filter(deal=deal, is_active=True).first()
    if schedule is None:
        return None
    old = list(schedule.installments.order_by("seq"))
    lines = _line_changes(old, plan)
    fields = _field_changes(schedule=schedule, plan=plan, before=active_options(deal=deal, schedule=schedule),
                            after=options)
    cancelled, reissued, kept = _invoice_changes(deal=deal, old=old, plan=plan, direction=options.direction)
    return ScheduleChanges(base_version=schedule.version, unchanged=not lines and not fields, lines=lines,
                           fields=fields, invoices_cancelled=cancelled, invoices_reissued=reissued,
                           invoices_kept=kept)
