"""Late fees: added as `fee` lines through a new schedule version with the reason, never by editing a
version or a paid amount; waived the same way. At most one charge per overdue line per account day."""
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Sum
from django.utils.translation import gettext

from billing.domain.money import ZERO
from billing.domain.status import days_late
from billing.dunning import domain
from billing.dunning.events import PENALTY_CHANGED
from billing.dunning.models import DunningLine, OverdueFact, PenaltyCharge
from billing.errors import ApplicationError
from billing.events import SCHEDULE_CHANGED, publish, subscribe
from billing.models import Account, Deal, Installment, Schedule
from billing.services.deals import active_schedule, deal_lock, deal_reallocate, deal_recompute
from billing.texts import date_text, in_account_language, plain_money_text


class _AlreadyCharged(Exception):
    """Another tick charged this deal today first; this one's version is rolled back."""


def fee_label(*, account, seq: int, due_date: date) -> str:
    """The penalty line's label, stored once, in the account's language."""
    with in_account_language(account):
        return gettext("Penalty on payment No. %(seq)s of %(due_date)s") % {"seq": seq, "due_date": date_text(due_date)}


def _version_with(*, deal: Deal, schedule: Schedule, installments: list[Installment], amounts: dict[int, Decimal],
                  new_lines: list[Installment], reason: str, created_by: int | None) -> Schedule:
    """A copy of `schedule` as the next version: `amounts` (seq → new amount; 0 drops the line), plus
    `new_lines`. Payments are re-allocated onto it and the CRM hears of the change like any rebuild."""
    kept = []
    for line in installments:
        amount = amounts.get(line.seq, line.amount)
        if amount > 0:
            kept.append(Installment(seq=line.seq, kind=line.kind, label=line.label, due_date=line.due_date,
                                    amount=amount))
    kept += new_lines
    total = sum((line.amount for line in kept), ZERO) + schedule.already_paid
    Schedule.objects.filter(pk=schedule.pk).update(is_active=False)
    version = (deal.schedules.aggregate(v=Max("version"))["v"] or 0) + 1
    request = {**schedule.request, "change": {"kind": "penalty", "reason": reason, "from_version": schedule.version}}
    new = Schedule.objects.create(
        deal=deal, version=version, is_active=True, plan=schedule.plan, direction=schedule.direction, total=total,
        already_paid=schedule.already_paid, debt=total - schedule.already_paid, request=request,
        autopay=schedule.autopay, manager_id=schedule.manager_id, created_by=created_by)
    for line in kept:
        line.schedule = new
    Installment.objects.bulk_create(kept)
    deal_reallocate(deal=deal, schedule=new)
    deal_recompute(deal=deal)
    publish(account=deal.account, name=SCHEDULE_CHANGED, payload={
        "deal_id": deal.pk, "external_id": deal.external_id, "schedule_id": new.pk, "version": version,
        "previous_schedule_id": schedule.pk, "reason": reason})
    return new


def penalties_accrue(*, account: Account, policy: domain.Policy, today: date, now: datetime) -> int:
    """Charge today's fee on every overdue line that has none today; one new version per deal. Returns charges."""
    if policy.penalties is None:
        return 0
    charged_today = PenaltyCharge.objects.filter(line=OuterRef("pk"), kind=PenaltyCharge.Kind.CHARGE,
                                                 charged_on=today)
    has_fact = OverdueFact.objects.filter(line=OuterRef("pk"))
    candidates = (DunningLine.objects.filter(account=account, penalty_waived_at__isnull=True, due_date__lt=today)
                  .filter(Exists(has_fact)).exclude(Exists(charged_today)).values_list("deal_id", flat=True))
    count = 0
    for deal_id in sorted(set(candidates)):
        try:
            count += _deal_accrue(deal_id=deal_id, policy=policy, today=today, now=now)
        except _AlreadyCharged:
            continue
    return count


@transaction.atomic
def _deal_accrue(*, deal_id: int, policy: domain.Policy, today: date, now: datetime) -> int:
    deal = deal_lock(deal=Deal(pk=deal_id))
    schedule = active_schedule(deal)
    if schedule is None or deal.cancelled_at is not None:
        return 0
    installments = list(schedule.installments.order_by("seq"))
    by_key = {(line.seq, line.due_date): line for line in installments}
    lines = list(DunningLine.objects.filter(deal=deal, penalty_waived_at__isnull=True, due_date__lt=today)
                 .filter(Exists(OverdueFact.objects.filter(line=OuterRef("pk"))))
                 .exclude(Exists(PenaltyCharge.objects.filter(line=OuterRef("pk"), kind="charge",
                                                              charged_on=today))))
    history: dict[int, dict] = defaultdict(lambda: {"total": ZERO, "last": None, "fee_seq": None})
    for row in (PenaltyCharge.objects.filter(line__in=lines).values("line_id", "fee_seq")
                .annotate(total=Sum("amount"), last=Max("charged_on"))):
        history[row["line_id"]] = {"total": row["total"], "last": row["last"], "fee_seq": row["fee_seq"]}
    fees = {line.seq: line for line in installments if line.kind == Installment.Kind.FEE}
    next_seq = max((line.seq for line in installments), default=0) + 1
    amounts: dict[int, Decimal] = {}
    new_lines: list[Installment] = []
    charges: list[tuple[DunningLine, Decimal, int]] = []
    for line in lines:
        installment = by_key.get((line.seq, line.due_date))
        if installment is None or installment.kind == Installment.Kind.FEE:
            continue
        past = history[line.pk]
        amount = domain.penalty_due(policy.penalties, remainder=installment.amount - installment.paid,
                                    days_overdue=days_late(line.due_date, today), charged=past["total"],
                                    days_since_last_charge=(today - past["last"]).days if past["last"] else None)
        if amount <= 0:
            continue
        fee = fees.get(past["fee_seq"]) if past["fee_seq"] else None
        if fee is not None:
            amounts[fee.seq] = amounts.get(fee.seq, fee.amount) + amount
            charges.append((line, amount, fee.seq))
        else:
            new_lines.append(Installment(seq=next_seq, kind=Installment.Kind.FEE, due_date=today, amount=amount,
                                         label=fee_label(account=deal.account, seq=line.seq,
                                                                         due_date=line.due_date)))
            charges.append((line, amount, next_seq))
            next_seq += 1
    if not charges:
        return 0
    with in_account_language(deal.account):
        reason = gettext("Late payment penalty: %(lines)s") % {"lines": "; ".join(
            gettext("payment No. %(seq)s of %(due_date)s — %(amount)s") % {
                "seq": line.seq, "due_date": date_text(line.due_date), "amount": plain_money_text(amount)}
            for line, amount, _ in charges)}
    new = _version_with(deal=deal, schedule=schedule, installments=installments, amounts=amounts,
                        new_lines=new_lines, reason=reason, created_by=None)
    try:
        with transaction.atomic():
            PenaltyCharge.objects.bulk_create([
                PenaltyCharge(account_id=deal.account_id, deal=deal, line=line, charged_on=today, amount=amount,
                              fee_seq=fee_seq, schedule=new, reason=reason) for line, amount, fee_seq in charges])
    except IntegrityError:
        # A concurrent tick charged today already: undo this whole version (the outer atomic rolls back).
        raise _AlreadyCharged() from None
    publish(account=deal.account, name=PENALTY_CHANGED, payload={
        "deal_id": deal.pk, "external_id": deal.external_id, "kind": "charge", "version": new.version,
        "amount": str(sum((amount for _, amount, _ in charges), ZERO)), "text": reason,
        "responsible_user_id": deal.responsible_user_id})
    return len(charges)


@transaction.atomic
def penalty_waive(*, account: Account, external_id: int, fee_seq: int, reason: str, waived_by: int | None,
                  today: date, now: datetime) -> Schedule:
    """A manager waives the unpaid part of a fee line (a new version; what was paid on it stays paid), and
    its overdue line accrues no more fees."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("invalid_waiver", gettext("Give the reason for waiving the penalty."),
                               {"reason": [gettext("Give the reason.")]})
    deal = Deal.objects.filter(account=account, external_id=external_id).first()
    if deal is None:
        raise ApplicationError("not_found", gettext("Deal not found."), status=404)
    deal = deal_lock(deal=deal)
    schedule = active_schedule(deal)
    installments = list(schedule.installments.order_by("seq")) if schedule else []
    fee = next((line for line in installments if line.seq == fee_seq and line.kind == Installment.Kind.FEE), None)
    if fee is None:
        raise ApplicationError("invalid_waiver", gettext("The plan has no penalty No. %(seq)s.") % {"seq": fee_seq},
                               {"seq": [gettext("This is not a penalty.")]})
    if fee.paid >= fee.amount:
        raise ApplicationError("fee_paid", gettext("The penalty is already paid: there is nothing to waive."),
                               {"seq": [gettext("The penalty is paid.")]},
                               status=409)
    waived = fee.amount - fee.paid
    with in_account_language(account):
        text = gettext("Penalty %(amount)s (%(label)s) waived. Reason: %(reason)s") % {
            "amount": plain_money_text(waived), "label": fee.label, "reason": reason}
    new = _version_with(deal=deal, schedule=schedule, installments=installments, amounts={fee.seq: fee.paid},
                        new_lines=[], reason=text, created_by=waived_by)
    source = PenaltyCharge.objects.filter(deal=deal, fee_seq=fee_seq).order_by("-id").first()
    if source is not None:
        PenaltyCharge.objects.create(account=account, deal=deal, line=source.line, kind=PenaltyCharge.Kind.WAIVER,
                                     charged_on=today, amount=-waived, fee_seq=fee_seq, schedule=new, reason=text,
                                     recorded_by=waived_by)
        DunningLine.objects.filter(pk=source.line_id).update(penalty_waived_at=now)
    publish(account=account, name=PENALTY_CHANGED, payload={
        "deal_id": deal.pk, "external_id": deal.external_id, "kind": "waiver", "version": new.version,
        "amount": str(-waived), "text": text, "responsible_user_id": deal.responsible_user_id})
    return new


def on_schedule_changed(event) -> None:
    """A rebuild carried the fee lines over under new numbers: the charges follow them (same transaction),
    so a later charge adds to the same fee line and a waiver finds it."""
    moves = {int(old): new for old, new in (event.payload.get("fee_seq_moves") or {}).items()}
    if not moves:
        return
    charges = list(PenaltyCharge.objects.filter(deal_id=event.payload["deal_id"], fee_seq__in=moves))
    for charge in charges:
        charge.fee_seq = moves[charge.fee_seq]
    PenaltyCharge.objects.bulk_update(charges, ["fee_seq"])


def register() -> None:
    subscribe(SCHEDULE_CHANGED, on_schedule_changed)
