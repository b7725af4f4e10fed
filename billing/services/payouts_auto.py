"""Payouts that pay themselves (issue [K] point 5): an outgoing plan's payout goes out through YooKassa
Payouts (`POST /v3/payouts`, contracts/yookassa.md §14) on its date — only after the accountant approved it
(the payout task of [E] completed in the CRM, or the widget's «Одобрить выплату» button), only to the
client's stored card token / SBP / wallet (PayoutDestination with `auto` on), and it is recorded only when
YooKassa confirms it (the answer, a `payout.succeeded` notification re-read from the API, or the tick's
poll). A `canceled` payout goes back to the accountant (PAYOUT_FAILED: a CRM task and note via the relay).

Never twice: the payout row is claimed (`gateway_status=sending`) in its own transaction, the call is made
with no lock held under the Idempotence-Key `po:<account>:<payout>:<attempt>` (the attempt grows only after
a final failure), so a second tick, a retry or a lost answer repeats the very same payout; the payment is
recorded under the key `payout:<payout>` (the one manual completion uses) inside the locked row.
"""
import logging
import re
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.domain.money import ZERO
from billing.errors import ApplicationError
from billing.events import PAYOUT_FAILED, publish
from billing.gateway.errors import GatewayError, GatewayRejected, GatewayUnavailable
from billing.gateway.yookassa import YooKassaPayout, YooKassaPayouts
from billing.models import Account, Deal, Direction, Payment, Payout, PayoutDestination
from billing.services.deals import deal_lock
from billing.services.gateways import yookassa_payouts
from billing.services.payments import PaymentInput, payment_record
from billing.texts import date_text, in_account_language, money_text
from billing.time import account_today
from billing.transactions import assert_no_transaction

logger = logging.getLogger(__name__)

SENDING, PENDING, SUCCEEDED, CANCELED = "sending", "pending", "succeeded", "canceled"
PHONE = re.compile(r"^7\d{10}$")
BANK_ID = re.compile(r"^[A-Za-z0-9]{12}$")
WALLET = re.compile(r"^\d{11,20}$")


# Payout `cancellation_details.reason` (§14) as the accountant reads it; unknown ones as general_decline.
PAYOUT_REASONS = {
    "insufficient_funds": gettext_lazy("not enough money on the payout gateway's balance"),
    "fraud_suspected": gettext_lazy("suspected fraud"),
    "one_time_limit_exceeded": gettext_lazy("the single payout limit is exceeded"),
    "periodic_limit_exceeded": gettext_lazy("the payout limit for the period is exceeded"),
    "rejected_by_payee": gettext_lazy("the recipient's bank refused it"),
    "recipient_not_found": gettext_lazy("the recipient was not found"),
    "recipient_check_failed": gettext_lazy("the recipient check failed"),
    "issuer_unavailable": gettext_lazy("the recipient's bank is unavailable"),
    "general_decline": gettext_lazy("declined without a reason given"),
    "invalid_request": gettext_lazy("YooKassa refused the request: check the requisites"),
    "invalid_credentials": gettext_lazy("YooKassa refused the payout gateway's keys"),
    "forbidden": gettext_lazy("payouts are not enabled for these keys"),
}


def payout_reason_text(reason: str) -> str:
    return str(PAYOUT_REASONS.get(reason) or PAYOUT_REASONS["general_decline"])


# ---- the client's requisites ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DestinationInput:
    kind: str
    phone: str = ""
    bank_id: str = ""
    payout_token: str = ""
    card_last4: str = ""
    account_number: str = ""
    auto: bool = False


def _invalid(field_name: str, message: str) -> ApplicationError:
    return ApplicationError("invalid_payout_destination", message, {field_name: [message]})


def destination_clean(data: DestinationInput) -> DestinationInput:
    """Checked before it is stored, so a payout never leaves with half its requisites."""
    if data.kind == PayoutDestination.Kind.SBP:
        phone = re.sub(r"\D", "", data.phone)
        if len(phone) == 11 and phone.startswith("8"):
            phone = "7" + phone[1:]
        if not PHONE.match(phone):
            raise _invalid("phone", _("Enter the phone as +7 and 10 digits."))
        if not BANK_ID.match(data.bank_id):
            raise _invalid("bank_id", _("The SBP bank ID is 12 letters and digits (YooKassa's list of SBP banks)."))
        return DestinationInput(kind=data.kind, phone=phone, bank_id=data.bank_id, auto=data.auto)
    if data.kind == PayoutDestination.Kind.BANK_CARD:
        if not data.payout_token or len(data.payout_token) > 255:
            raise _invalid("payout_token", _("A card is given by its payout token from YooKassa's payout widget; "
                                             "PayPlan never stores a card number."))
        last4 = data.card_last4 if re.fullmatch(r"\d{4}", data.card_last4 or "") else ""
        return DestinationInput(kind=data.kind, payout_token=data.payout_token, card_last4=last4, auto=data.auto)
    if data.kind == PayoutDestination.Kind.YOO_MONEY:
        if not WALLET.match(data.account_number):
            raise _invalid("account_number", _("The YooMoney wallet number is 11 to 20 digits."))
        return DestinationInput(kind=data.kind, account_number=data.account_number, auto=data.auto)
    raise _invalid("kind", _("Choose SBP, a card or a YooMoney wallet."))


@transaction.atomic
def payout_destination_set(*, deal: Deal, data: DestinationInput) -> PayoutDestination:
    if deal.direction != Direction.OUTGOING:
        raise ApplicationError("not_a_payout_plan", _("Payout requisites belong to a payout plan."))
    clean = destination_clean(data)
    destination, _created = PayoutDestination.objects.update_or_create(deal=deal, defaults={
        "account": deal.account, "kind": clean.kind, "phone": clean.phone, "bank_id": clean.bank_id,
        "payout_token": clean.payout_token, "card_last4": clean.card_last4,
        "account_number": clean.account_number, "auto": clean.auto})
    return destination


def destination_data(destination: PayoutDestination | None) -> dict | None:
    """The API's `payout_destination_data` (or `{"payout_token": …}`); None when the requisites are missing."""
    if destination is None:
        return None
    if destination.kind == PayoutDestination.Kind.SBP and destination.phone and destination.bank_id:
        return {"type": "sbp", "phone": destination.phone, "bank_id": destination.bank_id}
    if destination.kind == PayoutDestination.Kind.BANK_CARD and destination.payout_token:
        return {"payout_token": destination.payout_token}
    if destination.kind == PayoutDestination.Kind.YOO_MONEY and destination.account_number:
        return {"type": "yoo_money", "account_number": destination.account_number}
    return None


def _destination(deal_id: int) -> PayoutDestination | None:
    return PayoutDestination.objects.filter(deal_id=deal_id).first()


def payout_is_automatic(payout: Payout) -> bool:
    """The deal's payouts go out through YooKassa (the accountant only approves them): its requisites with
    `auto` on and the account's payout gateway connected; otherwise the accountant pays by hand as before."""
    destination = _destination(payout.deal_id)
    return bool(destination and destination.auto and destination_data(destination) is not None
                and payout.account.yookassa_payouts_connected)


# ---- approval --------------------------------------------------------------------------------------------------
@transaction.atomic
def payout_approve(*, account: Account, payout_id: int, approved_by: int | None, retry: bool = False) -> Payout:
    """The accountant's approval (the CRM task completed, or the widget's button); idempotent. `retry` after
    a canceled payout: a new attempt (a new Idempotence-Key) once the requisites were fixed."""
    payout = Payout.objects.select_for_update().get(pk=payout_id, account=account)
    if payout.state != Payout.State.DUE:
        return payout
    if payout.gateway_status == CANCELED:
        if not retry:
            return payout
        payout.gateway_attempt += 1
        payout.gateway_status = payout.gateway_failure = payout.gateway_payout_id = ""
    elif payout.approved_at is not None:
        return payout
    payout.approved_by, payout.approved_at = approved_by, timezone.now()
    payout.save(update_fields=["approved_by", "approved_at", "gateway_attempt", "gateway_status", "gateway_failure",
                               "gateway_payout_id"])
    return payout


def _no_requisites() -> ApplicationError:
    return ApplicationError("payout_no_requisites", _(
        "The client has no payout requisites (SBP, card or wallet): the automatic payout cannot be sent."),
        status=409)


def payout_approve_send(*, account: Account, payout_id: int, approved_by: int | None, today: date) -> Payout:
    """The widget's «Одобрить выплату» / «Повторить выплату»: refused without requisites; else approved
    (a retry after a failure is a new attempt) and sent at once when due."""
    assert_no_transaction()
    payout = Payout.objects.get(pk=payout_id, account=account)
    if destination_data(_destination(payout.deal_id)) is None:
        raise _no_requisites()
    payout_approve(account=account, payout_id=payout_id, approved_by=approved_by, retry=True)
    return payout_send(payout_id=payout_id, today=today)


# ---- sending ---------------------------------------------------------------------------------------------------
def payout_key(payout: Payout) -> str:
    return f"po:{payout.account_id}:{payout.pk}:{payout.gateway_attempt}"  # ≤ 64 (§2)


@transaction.atomic
def _payout_claim(*, payout_id: int, today: date) -> tuple[Payout, dict] | None:
    """Refusals with a clear code; None when there is nothing to send (paid, not yet due, already out)."""
    payout = Payout.objects.select_for_update(of=("self",)).select_related("account").get(pk=payout_id)
    if payout.state != Payout.State.DUE or payout.gateway_status in (PENDING, SUCCEEDED, CANCELED):
        return None
    if payout.approved_at is None:
        raise ApplicationError("payout_not_approved", _(
            "The payout has not been approved by the accountant: it is not sent without approval."), status=409)
    destination = destination_data(_destination(payout.deal_id))
    if destination is None:
        raise _no_requisites()
    if not payout.account.yookassa_payouts_connected:
        raise ApplicationError("yookassa_payouts_not_connected", _(
            "YooKassa payouts are not connected: enter the payout gateway ID and its secret key in the settings."),
            status=409)
    if payout.due_date > today:
        return None
    payout.gateway_status = SENDING
    payout.save(update_fields=["gateway_status"])
    return payout, destination


def payout_send(*, payout_id: int, today: date, gateway: YooKassaPayouts | None = None) -> Payout:
    """Send one approved payout (no lock held across the call); the answer is applied like a notification."""
    assert_no_transaction()
    claimed = _payout_claim(payout_id=payout_id, today=today)
    if claimed is None:
        return Payout.objects.get(pk=payout_id)
    payout, destination = claimed
    deal = payout.deal
    amount = min(payout.amount, deal.debt)
    if amount <= ZERO:
        return _payout_close(payout_id=payout_id)
    with in_account_language(payout.account):
        description = _("Payout No. %(seq)s of deal %(deal)s") % {"seq": payout.installment.seq,
                                                                 "deal": deal.external_id}
    try:
        remote = (gateway or yookassa_payouts(payout.account)).payout_create(
            amount=amount, destination=destination, description=description,
            metadata={"payplan_payout": str(payout.pk), "payplan_account": str(payout.account_id),
                      "payplan_attempt": str(payout.gateway_attempt)},
            request_id=payout_key(payout), currency=payout.account.currency)
    except GatewayUnavailable as exc:
        # Outcome unknown: stays `sending`; the next tick repeats the same key (the same payout, §2).
        logger.warning("payout %s: YooKassa did not answer (%s); the next tick repeats it", payout.pk, exc.message)
        return Payout.objects.get(pk=payout_id)
    except GatewayRejected as exc:
        return payout_failure(payout_id=payout_id, reason=_rejected_reason(exc), payout_object_id="")
    except GatewayError as exc:  # keys refused: the accountant has to know too
        return payout_failure(payout_id=payout_id, reason="invalid_credentials", payout_object_id="",
                              detail=exc.message)
    return payout_gateway_apply(payout_id=payout_id, remote=remote)


def _rejected_reason(exc: GatewayError) -> str:
    raw = exc.raw or {}
    return str(raw.get("code") or "invalid_request")[:64]


@transaction.atomic
def _payout_close(*, payout_id: int) -> Payout:
    payout = Payout.objects.select_for_update().get(pk=payout_id)
    if payout.state == Payout.State.DUE:
        payout.state, payout.gateway_status = Payout.State.CLOSED, ""
        payout.save(update_fields=["state", "gateway_status"])
    return payout


# ---- YooKassa's word -------------------------------------------------------------------------------------------
def _payout_locked(payout_id: int) -> Payout:
    """The payout row locked, and only it (`of`): its deal is locked by deal_lock when money is written, so
    every path takes payout, then deal; a plain FOR UPDATE over the join would lock the deal too, in the
    plan's order, and deadlock with a notification racing the approve request."""
    return Payout.objects.select_for_update(of=("self",)).select_related("deal", "account", "installment").get(
        pk=payout_id)


@transaction.atomic
def payout_gateway_apply(*, payout_id: int, remote: YooKassaPayout) -> Payout:
    """The payout object as the API returned it (answer, re-read notification, or poll): recorded once."""
    payout = _payout_locked(payout_id)
    if payout.state != Payout.State.DUE or payout.gateway_status == CANCELED:
        return payout  # recorded already, or failed and back with the accountant (a retry is a new attempt)
    attempt = str(remote.metadata.get("payplan_attempt", payout.gateway_attempt))
    if (payout.gateway_payout_id and payout.gateway_payout_id != remote.id) or attempt != str(payout.gateway_attempt):
        logger.warning("payout %s: YooKassa payout %s is not its current attempt (%s)", payout.pk, remote.id,
                       payout.gateway_payout_id)
        return payout
    payout.gateway_payout_id = remote.id
    if remote.status == SUCCEEDED:
        deal = deal_lock(deal=payout.deal)
        amount = min(remote.amount, deal.debt)
        if amount > ZERO and deal.cancelled_at is None:
            with in_account_language(payout.account):
                comment = _("Automatic payout through YooKassa (due %(due_date)s)") % {
                    "due_date": date_text(payout.due_date)}
            payout.payment = payment_record(deal=deal, amount=amount, payment=PaymentInput(
                method=Payment.Method.BANK_TRANSFER, paid_at=account_today(payout.account),
                recorded_by=payout.approved_by, idempotency_key=f"payout:{payout.pk}", comment=comment))
        payout.state = Payout.State.PAID if payout.payment_id else Payout.State.CLOSED
        payout.gateway_status = SUCCEEDED
        payout.completed_by, payout.completed_at = payout.approved_by, timezone.now()
        payout.save(update_fields=["state", "payment", "gateway_status", "gateway_payout_id", "completed_by",
                                   "completed_at"])
        logger.info("payout %s paid through YooKassa %s", payout.pk, remote.id)
        return payout
    if remote.status == CANCELED:
        return _failure(payout, remote.cancellation_reason or "general_decline", "")
    payout.gateway_status = PENDING
    payout.save(update_fields=["gateway_status", "gateway_payout_id"])
    return payout


@transaction.atomic
def payout_failure(*, payout_id: int, reason: str, payout_object_id: str, detail: str = "") -> Payout:
    payout = _payout_locked(payout_id)
    if payout.state != Payout.State.DUE or payout.gateway_status == CANCELED:
        return payout
    if payout_object_id:
        payout.gateway_payout_id = payout_object_id
    return _failure(payout, reason, detail)


def _failure(payout: Payout, reason: str, detail: str) -> Payout:
    """Back to the accountant: a task and a note (the relay); the payout waits for a retry or a hand payment."""
    payout.gateway_status, payout.gateway_failure = CANCELED, reason[:64]
    payout.save(update_fields=["gateway_status", "gateway_failure", "gateway_payout_id"])
    deal = payout.deal
    with in_account_language(payout.account):
        text = _("The automatic payout of %(amount)s to %(recipient)s failed in YooKassa (%(reason)s). Check the "
                 "client's requisites and press «Retry the payout» in the widget, or pay by hand and complete "
                 "this task.") % {"amount": money_text(payout.amount, payout.account.currency),
                                  "recipient": payout.recipient or deal.external_id,
                                  "reason": payout_reason_text(reason)}
    publish(account=payout.account, name=PAYOUT_FAILED, payload={
        "deal_id": deal.pk, "external_id": deal.external_id, "payout_id": payout.pk, "seq": payout.installment.seq,
        "amount": str(payout.amount), "reason": reason, "detail": detail[:500], "text": text,
        "due_date": payout.due_date.isoformat(), "assignee_user_id": payout.assignee_user_id})
    logger.warning("payout %s failed in YooKassa: %s", payout.pk, reason)
    return payout


# ---- the tick --------------------------------------------------------------------------------------------------
@dataclass
class AutoPayoutReport:
    sent: list[int] = field(default_factory=list)
    polled: list[int] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def payouts_auto_run(*, account: Account, today: date, gateway: YooKassaPayouts | None = None) -> AutoPayoutReport:
    """Approved automatic payouts due by today go out (a `sending` one again, with the same key); pending
    ones are asked for (in case a notification is lost). Twice in a row pays nothing twice."""
    report = AutoPayoutReport()
    if not account.yookassa_payouts_connected:
        return report
    automatic = PayoutDestination.objects.filter(account=account, auto=True).values_list("deal_id", flat=True)
    rows = list(Payout.objects.filter(account=account, state=Payout.State.DUE, approved_at__isnull=False,
                                      due_date__lte=today, deal_id__in=automatic)
                .values_list("pk", "gateway_status", "gateway_payout_id"))
    for payout_id, status, remote_id in rows:
        try:
            if status in ("", SENDING):
                payout_send(payout_id=payout_id, today=today, gateway=gateway)
                report.sent.append(payout_id)
            elif status == PENDING and remote_id:
                remote = (gateway or yookassa_payouts(account)).payout_get(remote_id)
                payout_gateway_apply(payout_id=payout_id, remote=remote)
                report.polled.append(payout_id)
        except ApplicationError as exc:
            report.refused.append(f"{payout_id}: {exc.code}")
        except GatewayError as exc:
            logger.warning("payout %s: %s; the next tick tries again", payout_id, exc.message)
    return report
