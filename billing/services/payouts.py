"""Outgoing plans run themselves: on each payout's date a task goes to the accountant; when the accountant
completes it in the CRM, the payout is recorded once; a payout whose date has passed alerts like an incoming
line. The CRM side (widget_api) turns the events into tasks and finds completed ones; billing imports none of it.
"""
import logging
from dataclasses import dataclass, field
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext

from billing.domain.money import ZERO
from billing.domain.status import days_late
from billing.dunning.events import INSTALLMENT_OVERDUE
from billing.events import PAYOUT_DUE, publish
from billing.models import Account, Deal, Direction, Installment, Payment, Payout
from billing.services import payouts_auto
from billing.services.deals import deal_lock
from billing.services.payments import PaymentInput, payment_record
from billing.texts import date_text, in_account_language, money_text

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PayoutRoles:
    """Who does which step of a payout plan (CRM user ids; None: the account's task user or the lead's
    responsible): the accountant pays each tranche, the claims specialist closes the claim after the last."""

    accountant_user_id: int | None
    claims_specialist_user_id: int | None


def payout_roles(account: Account) -> PayoutRoles:
    roles = account.settings.get("roles") or {}
    return PayoutRoles(accountant_user_id=roles.get("accountant_user_id") or None,
                       claims_specialist_user_id=roles.get("claims_specialist_user_id") or None)


@dataclass
class PayoutRunReport:
    opened: list[int] = field(default_factory=list)  # payout ids whose task went out now
    overdue: list[int] = field(default_factory=list)


def payouts_due(*, account: Account, today: date):
    """Unpaid lines of active outgoing plans due by `today` that have no payout yet. A line is known by its
    deal, number and date, so a plan rebuilt after a task went out does not send the same tranche again."""
    known = Payout.objects.filter(deal_id=OuterRef("schedule__deal_id"), due_date=OuterRef("due_date"),
                                  installment__seq=OuterRef("seq"))
    return (Installment.objects
            .filter(schedule__deal__account=account, schedule__is_active=True,
                    schedule__direction=Direction.OUTGOING, schedule__deal__cancelled_at__isnull=True,
                    paid__lt=F("amount"), due_date__lte=today)
            .exclude(Exists(known)).order_by("schedule__deal_id", "seq").values_list("pk", flat=True))


def payouts_run(*, account: Account, today: date) -> PayoutRunReport:
    """The tick's payout step: every payout due by `today` gets its task once (a missed day catches up:
    each tranche is a payment someone must make), and every one past its date alerts once."""
    report = PayoutRunReport()
    for installment_id in list(payouts_due(account=account, today=today)):
        payout = payout_open(installment_id=installment_id)
        if payout is not None:
            report.opened.append(payout.pk)
    overdue = Payout.objects.filter(account=account, state=Payout.State.DUE, due_date__lt=today,
                                    overdue_alerted_at__isnull=True).values_list("pk", flat=True)
    for payout_id in list(overdue):
        if payout_overdue_alert(payout_id=payout_id, today=today):
            report.overdue.append(payout_id)
    return report


@transaction.atomic
def payout_open(*, installment_id: int) -> Payout | None:
    """The payout of one due line and its `payout_due` event, once (None: another tick made it, or the
    line was paid or its plan replaced meanwhile)."""
    installment = Installment.objects.select_related("schedule__deal__account").get(pk=installment_id)
    deal = deal_lock(deal=installment.schedule.deal)
    installment.refresh_from_db()
    outstanding = installment.amount - installment.paid
    if not installment.schedule.is_active or outstanding <= ZERO or deal.cancelled_at is not None:
        return None
    if Payout.objects.filter(deal=deal, due_date=installment.due_date, installment__seq=installment.seq).exists():
        return None
    roles = payout_roles(deal.account)
    try:
        with transaction.atomic():
            payout = Payout.objects.create(
                account=deal.account, deal=deal, installment=installment, due_date=installment.due_date,
                amount=outstanding, recipient=deal.contact_name or deal.name, requisites=deal.payout_requisites,
                assignee_user_id=roles.accountant_user_id)
    except IntegrityError:
        return None
    publish(account=deal.account, name=PAYOUT_DUE, payload=payout_payload(payout, deal))
    return payout


def payout_payload(payout: Payout, deal: Deal) -> dict:
    return {"deal_id": deal.pk, "external_id": deal.external_id, "payout_id": payout.pk,
            "seq": payout.installment.seq, "due_date": payout.due_date.isoformat(), "amount": str(payout.amount),
            "recipient": payout.recipient, "requisites": payout.requisites,
            "assignee_user_id": payout.assignee_user_id,
            "automatic": payouts_auto.payout_is_automatic(payout)}  # [K]: the task approves, YooKassa pays


@transaction.atomic
def payout_overdue_alert(*, payout_id: int, today: date) -> bool:
    """A payout not made by its date: one alert (a task and a note, as an overdue incoming line gets)."""
    payout = Payout.objects.select_for_update(of=("self",)).select_related("deal", "installment").get(pk=payout_id)
    if payout.state != Payout.State.DUE or payout.overdue_alerted_at is not None or payout.due_date >= today:
        return False
    payout.overdue_alerted_at = timezone.now()
    payout.save(update_fields=["overdue_alerted_at"])
    installment = payout.installment
    if installment.paid >= installment.amount:
        return False  # paid by hand meanwhile: nothing is late
    deal = payout.deal
    days = days_late(payout.due_date, today)
    with in_account_language(payout.account):  # the manager's task and note, in the account's language
        text = gettext("The payout of %(amount)s to %(recipient)s is overdue (due %(due_date)s, days overdue: "
                       "%(days)s).") % {"amount": money_text(payout.amount, payout.account.currency),
                                        "recipient": payout.recipient or deal.external_id,
                                        "due_date": date_text(payout.due_date), "days": days}
    publish(account=payout.account, name=INSTALLMENT_OVERDUE, payload={
        "deal_id": deal.pk, "external_id": deal.external_id, "seq": installment.seq,
        "due_date": payout.due_date.isoformat(), "outstanding": str(installment.amount - installment.paid),
        "debt": str(deal.debt), "days_overdue": days, "text": text, "direction": Direction.OUTGOING,
        "payout_id": payout.pk,
        "responsible_user_id": payout.assignee_user_id or deal.responsible_user_id,
    })
    return True


def payouts_open_ids(*, account: Account) -> list[int]:
    """The payouts whose task the CRM side should look at (waiting for the accountant)."""
    return list(Payout.objects.filter(account=account, state=Payout.State.DUE).values_list("pk", flat=True))


@transaction.atomic
def payout_complete(*, account: Account, payout_id: int, completed_by: int | None, paid_at: date,
                    task_source: str = PAYOUT_DUE) -> Payout:
    """The accountant completed the payout's task: record the payout once (what is left of it, never more
    than the plan still owes); completing it again, or a second poll, records nothing. On a deal whose
    payouts go out through YooKassa ([K], billing.services.payouts_auto) the payout task is the approval
    instead; only the task of a failed automatic payout records a payment made by hand."""
    payout = Payout.objects.select_for_update(of=("self",)).select_related("deal").get(pk=payout_id, account=account)
    if payout.state != Payout.State.DUE:
        return payout
    if payouts_auto.payout_is_automatic(payout):
        if task_source == PAYOUT_DUE:
            return payouts_auto.payout_approve(account=account, payout_id=payout.pk, approved_by=completed_by)
        if payout.gateway_status != payouts_auto.CANCELED:
            return payout  # out with YooKassa, or not sent yet: YooKassa's answer records it
    deal = deal_lock(deal=payout.deal)
    payout.completed_by, payout.completed_at = completed_by, timezone.now()
    amount = min(payout.amount, deal.debt)
    if amount <= ZERO or deal.cancelled_at is not None:
        payout.state = Payout.State.CLOSED
        payout.save(update_fields=["state", "completed_by", "completed_at"])
        return payout
    with in_account_language(account):
        comment = gettext("Payout by the accountant's task (due %(due_date)s)") % {
            "due_date": date_text(payout.due_date)}
    payout.payment = payment_record(deal=deal, amount=amount, payment=PaymentInput(
        method=Payment.Method.BANK_TRANSFER, paid_at=paid_at, recorded_by=completed_by,
        idempotency_key=f"payout:{payout.pk}", comment=comment))
    payout.state = Payout.State.PAID
    payout.save(update_fields=["state", "payment", "completed_by", "completed_at"])
    logger.info("payout %s of deal %s recorded: %s", payout.pk, deal.pk, amount)
    return payout
