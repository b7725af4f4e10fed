"""Autopay: a client's saved card, charged on the due date of each line of an autopay plan.

The card is switched on only with the client's recorded consent, for a token that came with a payment to
this account. A charge is lock → commit an attempt row (its X-Request-ID) → call the gateway with no lock
held → re-lock → record. Soft declines are retried on the account's schedule; a hard decline, a 3-D Secure
demand, an expired card or the last retry falls back to the ordinary invoice link (once per line).
"""
import hashlib
import hmac
import logging
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from billing.decline_reasons import EXPIRED_CARD, DeclineKind, decline_reason
from billing.errors import ApplicationError
from billing.events import AUTOPAY_CHANGED, AUTOPAY_FAILED, INVOICE_ISSUED, publish, subscribe_batch
from billing.gateway.errors import GatewayError, GatewayRejected, PaymentDeclined
from billing.gateway.interface import ChargeResult, ChargeToken, Gateway
from billing.gateway.notifications import GatewayNotification
from billing.models import (
    Account,
    ChargeAttempt,
    Deal,
    Direction,
    DomainEvent,
    Installment,
    Invoice,
    Payment,
    SavedCard,
)
from billing.names import deal_service_name
from billing.services.deals import active_schedule, deal_lock
from billing.services.gateways import YOOKASSA, gateway_named
from billing.services.payments import PaymentInput, payment_record_from_gateway
from billing.services.yookassa_receipts import yookassa_receipt
from billing.texts import in_account_language
from billing.time import account_today
from billing.transactions import assert_no_transaction

logger = logging.getLogger(__name__)

Attempt = ChargeAttempt.Status
Card = SavedCard.Status
DEFAULT_RETRY_DAYS = (1, 3)
MAX_RETRIES = 5
MAX_RETRY_GAP_DAYS = 30
CONSENT_TEXT_MAX = 5000
# Contract §3.3: two failed attempts block the card for 24 h, so retries are a day apart at least.
MIN_RETRY_GAP_DAYS = 1
# Why an attempt gave up without a bank's ReasonCode (the emails explain each in words).
CARD_EXPIRED = "card_expired"
NEEDS_3DS = "3ds_required"
TOKEN_REFUSED = "token_refused"


# ---- the card ------------------------------------------------------------------------------------------

def token_digest(token: str) -> str:
    """A keyed hash of the token: finds the card without decrypting every row, reveals nothing."""
    return hmac.new(settings.SECRET_KEY.encode(), token.encode(), hashlib.sha256).hexdigest()


def card_expires_on(card_exp: str) -> date | None:
    """The last day a card with expiry MM/YY can be charged; None when unreadable."""
    try:
        month, year = (int(part) for part in card_exp.split("/"))
    except ValueError:
        return None
    if not 1 <= month <= 12:
        return None
    year += 2000
    return date(year, month, monthrange(year, month)[1])


def terminal_of(account: Account, gateway: str) -> str:
    """The terminal a saved method belongs to and is usable on: the CloudPayments Public ID or the YooKassa shop."""
    return account.yookassa_shop_id if gateway == YOOKASSA else account.cloudpayments_public_id


def payment_gateway_name(payment: Payment) -> str:
    return YOOKASSA if payment.method == Payment.Method.YOOKASSA else "cloudpayments"


def card_expired(card: SavedCard, today: date) -> bool:
    """Unknown expiry counts as expired: a card we cannot date is never charged (fail closed). A YooKassa saved
    method without a card (SBP, a wallet) has no expiry: YooKassa itself refuses it (`card_expired`, hard)."""
    if card.gateway == YOOKASSA and not card.card_exp and card.card_type != "bank_card":
        return False
    last_day = card_expires_on(card.card_exp)
    return last_day is None or last_day < today


def saved_card_capture(*, deal: Deal, payment: Payment, note: GatewayNotification) -> SavedCard | None:
    """Keep the token of a link payment as an `offered` card (the caller holds the deal lock, inside the
    Pay notification's transaction). It is never charged until the client's consent switches it on."""
    if not note.token or deal.direction != Direction.INCOMING:
        return None
    account = deal.account
    digest = token_digest(note.token)
    card = SavedCard.objects.filter(account=account, token_digest=digest).first()
    details = {"card_first_six": note.card_first_six or "", "card_last_four": note.card_last_four or "",
               "card_exp": note.card_exp or "", "card_type": note.card_type or ""}
    if card is not None:
        if card.deal_id == deal.pk:
            SavedCard.objects.filter(pk=card.pk).update(**{k: v for k, v in details.items() if v})
        return card
    gateway = payment_gateway_name(payment)
    return SavedCard.objects.create(
        account=account, deal=deal, token=note.token, token_digest=digest, gateway=gateway,
        public_id=terminal_of(account, gateway), gateway_account_id=note.account_id or str(deal.external_id),
        source_payment=payment, **details)


@transaction.atomic
def autopay_enable(*, deal: Deal, token: str, consent_text: str, consented_at: datetime,
                   source: str = "invoice_link", ip_address: str | None = None) -> SavedCard:
    """Switch autopay on for the deal with the card behind `token`, recording what the client agreed to and
    when. The token must have come with a payment of this deal to this account's terminal."""
    deal = deal_lock(deal=deal)
    account = deal.account
    consent_text = (consent_text or "").strip()
    if not consent_text or consented_at is None:
        raise ApplicationError("autopay_consent_required", _("Autopay needs the client's consent: its text and time."),
                               {"consent_text": [_("Required.")]})
    if len(consent_text) > CONSENT_TEXT_MAX:
        raise ApplicationError("autopay_consent_too_long", _("The consent text is too long."),
                               {"consent_text": [_("At most %(max)s characters.") % {"max": CONSENT_TEXT_MAX}]})
    if timezone.is_naive(consented_at) or consented_at > timezone.now() + timedelta(minutes=5):
        raise ApplicationError("autopay_consent_time_invalid", _("The consent time must be a real past moment."),
                               {"consented_at": [_("A timezone-aware moment, not in the future.")]})
    if not (token or "").strip():
        raise ApplicationError("autopay_token_required", _("Autopay needs the card token of a payment."),
                               {"token": [_("Required.")]})
    _check_autopay_plan(deal)
    card = (SavedCard.objects.select_for_update(no_key=True)
            .filter(account=account, token_digest=token_digest(token.strip())).first())
    if card is None or card.deal_id != deal.pk:
        # Tokens of other accounts, other deals or made up are all "not ours": nothing is said about which.
        raise ApplicationError("card_token_unknown", _("This card token did not come with a payment of this deal."),
                               {"token": [_("Unknown for this deal.")]})
    if card.public_id != terminal_of(account, card.gateway):
        raise ApplicationError("card_token_other_terminal",
                               _("The token was issued to another CloudPayments terminal; it cannot be charged here."),
                               {"token": [_("Issued to another terminal.")]})
    if card.status == Card.REVOKED:
        raise ApplicationError("card_revoked", _("The bank refused this card for repeat charges; save a new one."),
                               {"token": [_("Refused by the bank.")]})
    if card_expired(card, account_today(account)):
        raise ApplicationError("card_expired", _("The card has expired."), {"token": [_("Expired.")]})
    SavedCard.objects.filter(deal=deal, status=Card.ACTIVE).exclude(pk=card.pk).update(
        status=Card.REPLACED, disabled_at=timezone.now(), status_reason="another card was switched on")
    card.status, card.consent_text, card.consented_at = Card.ACTIVE, consent_text, consented_at
    card.consent_source, card.consent_ip = source[:32], ip_address
    card.disabled_at, card.disabled_by, card.status_reason = None, "", ""
    card.save()
    _changed(deal, card, enabled=True, by=source)
    return card


def _check_autopay_plan(deal: Deal) -> None:
    if deal.cancelled_at is not None:
        raise ApplicationError("deal_cancelled", _("The deal is cancelled."))
    schedule = active_schedule(deal)
    if schedule is None:
        raise ApplicationError("no_plan", _("The deal has no payment plan yet."))
    if schedule.direction == Direction.OUTGOING:
        raise ApplicationError("outgoing_plan", _("Outgoing plans are paid by us: they have no autopay."))
    if not schedule.autopay:
        raise ApplicationError("autopay_not_offered", _("This plan does not offer autopay; the manager turns it on."))


@transaction.atomic
def autopay_disable(*, deal: Deal, by: str, reason: str = "") -> SavedCard | None:
    """Switch autopay off (manager or client); the next lines go out as ordinary invoice links. Safe twice."""
    deal = deal_lock(deal=deal)
    card = SavedCard.objects.select_for_update(no_key=True).filter(deal=deal, status=Card.ACTIVE).first()
    if card is None:
        return None
    card.status, card.disabled_at, card.disabled_by = Card.DISABLED, timezone.now(), by[:64]
    card.status_reason = reason[:255]
    card.save(update_fields=["status", "disabled_at", "disabled_by", "status_reason"])
    _changed(deal, card, enabled=False, by=by)
    return card


def _changed(deal: Deal, card: SavedCard, *, enabled: bool, by: str) -> None:
    publish(account=deal.account, name=AUTOPAY_CHANGED, payload={
        "deal_id": deal.pk, "external_id": deal.external_id, "enabled": enabled, "card_id": card.pk,
        "card_last_four": card.card_last_four, "card_exp": card.card_exp, "by": by})


def autopay_card_get(*, deal: Deal) -> SavedCard | None:
    """The deal's switched-on card, else its most recent one (to show why autopay stopped)."""
    cards = SavedCard.objects.filter(deal=deal).exclude(status=Card.OFFERED)
    return cards.filter(status=Card.ACTIVE).first() or cards.order_by("-id").first()


# ---- which lines are charged -----------------------------------------------------------------------------

def retry_days(account: Account) -> tuple[int, ...]:
    """Days after a soft decline to try again (`autopay_retry_days`, default +1 then +3)."""
    configured = account.settings.get("autopay_retry_days")
    if not isinstance(configured, list) or len(configured) > MAX_RETRIES:
        return DEFAULT_RETRY_DAYS
    if not all(isinstance(day, int) and MIN_RETRY_GAP_DAYS <= day <= MAX_RETRY_GAP_DAYS for day in configured):
        return DEFAULT_RETRY_DAYS
    return tuple(configured)


def _autopay_managed() -> Q:
    """Lines the card pays: an autopay plan with a switched-on card, not given up on, not charged already."""
    given_up = ChargeAttempt.objects.filter(installment=OuterRef("pk"),
                                            status__in=[Attempt.FALLBACK, Attempt.SUCCEEDED])
    card_on = SavedCard.objects.filter(deal=OuterRef("schedule__deal"), status=Card.ACTIVE)
    return Q(schedule__autopay=True) & Exists(card_on) & ~Exists(given_up)


def installments_autopay_managed() -> Q:
    """For the invoicing tick: these lines get no invoice of their own while the card pays them."""
    return _autopay_managed()


def installments_due_for_charge(*, account: Account, today: date) -> list[int]:
    """Due, unpaid lines the card pays whose next attempt has come, and any line with an attempt sent but
    not answered (it is resolved with the same request, whatever changed since)."""
    waiting = ChargeAttempt.objects.filter(installment=OuterRef("pk"), status=Attempt.DECLINED, retry_on__gt=today)
    link_out = Invoice.objects.filter(installment=OuterRef("pk"),
                                      status__in=[*Invoice.LIVE_STATUSES, Invoice.Status.PAID])
    unanswered = ChargeAttempt.objects.filter(installment=OuterRef("pk"), status=Attempt.SENDING)
    due = (Q(_autopay_managed(), schedule__is_active=True, schedule__direction=Direction.INCOMING,
             schedule__deal__cancelled_at__isnull=True, due_date__lte=today, paid__lt=F("amount"))
           & ~Exists(waiting) & ~Exists(link_out))
    return list(
        Installment.objects.filter(schedule__deal__account=account).filter(due | Exists(unanswered))
        .order_by("due_date", "pk").values_list("pk", flat=True)
    )


# ---- one charge ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChargeOutcome:
    status: str  # succeeded, declined, fallback, skipped, pending, not_due
    attempt_id: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class _Planned:
    attempt: ChargeAttempt
    charge: ChargeToken
    reconcile: bool  # sent before, longer ago than the gateway remembers request ids: look it up first


def autopay_charge(*, installment_id: int, today: date | None = None, gateway: Gateway | None = None
                   ) -> ChargeOutcome:
    """Charge one due line with the deal's card; safe to run twice (the attempt row and its request id)."""
    assert_no_transaction()
    planned = _attempt_reserve(installment_id=installment_id, today=today)
    if isinstance(planned, ChargeOutcome):
        if planned.status == Attempt.FALLBACK:
            _fallback_invoice(installment_id=installment_id, gateway=gateway)
        return planned
    attempt = planned.attempt
    given, gateway = gateway, gateway or gateway_named(attempt.account, attempt.card.gateway)
    if planned.reconcile:
        outcome = _reconcile(planned, gateway)
        if outcome is not None:
            return outcome
    try:
        result = gateway.charge_token(planned.charge, request_id=attempt.request_id)
    except PaymentDeclined as exc:
        outcome = _attempt_declined(attempt_id=attempt.pk, reason_code=exc.reason_code,
                                    transaction_id=exc.transaction_id, reason=exc.reason or "")
    except GatewayRejected as exc:
        # The request itself was refused (the token unknown to the terminal, ...): the card cannot be used.
        logger.warning("autopay attempt %s: the gateway refused the charge: %s", attempt.pk, exc.message)
        outcome = _attempt_give_up(attempt_id=attempt.pk, reason=TOKEN_REFUSED, revoke=True)
    except GatewayError as exc:
        # Unavailable, throttled, keys refused: the outcome is unknown; the next tick repeats the same request.
        logger.warning("autopay attempt %s: gateway %s, left sending", attempt.pk, exc.message)
        return ChargeOutcome("pending", attempt.pk, exc.message)
    else:
        outcome = _attempt_answered(attempt_id=attempt.pk, result=result)
    if outcome.status == Attempt.FALLBACK:
        # The link goes out on the gateway the invoice is made on (the account's), not necessarily the card's.
        _fallback_invoice(installment_id=installment_id, gateway=given)
    return outcome


@transaction.atomic
def _attempt_reserve(*, installment_id: int, today: date | None) -> _Planned | ChargeOutcome:
    """Under the deal's lock: decide, and commit the attempt row before anything leaves."""
    line = Installment.objects.select_related("schedule__deal").get(pk=installment_id)
    deal = deal_lock(deal=line.schedule.deal)
    account = deal.account
    today = today or account_today(account)
    line = Installment.objects.select_for_update(no_key=True, of=("self",)).select_related("schedule").get(
        pk=installment_id)
    last = ChargeAttempt.objects.filter(installment=line).order_by("-attempt").first()
    if last is not None and last.status == Attempt.SENDING:
        # Sent before with no answer we recorded: the same request again (same card, same X-Request-ID),
        # whatever happened to the plan or the card since, for the money may have moved.
        cutoff = timezone.now() - timedelta(minutes=settings.CLOUDPAYMENTS_REQUEST_ID_TTL_MINUTES)
        return _Planned(last, _charge_of(last, last.card, deal, line), reconcile=last.created_at < cutoff)
    schedule = line.schedule
    if not schedule.is_active or schedule.direction != Direction.INCOMING or deal.cancelled_at is not None:
        return ChargeOutcome(Attempt.SKIPPED, reason="not_chargeable")
    if not schedule.autopay:
        raise ApplicationError("autopay_not_enabled", _("The plan has no autopay; the line is paid by invoice link."))
    card = SavedCard.objects.select_for_update(no_key=True).filter(deal=deal, status=Card.ACTIVE).first()
    if card is None:
        raise ApplicationError("autopay_no_consent",
                               _("No card with the client's consent is switched on for this deal."))
    if card.account_id != account.pk or card.public_id != terminal_of(account, card.gateway):
        raise ApplicationError("card_token_foreign", _("The saved card was issued to another account or terminal."))
    if line.paid >= line.amount:
        return ChargeOutcome(Attempt.SKIPPED, reason="paid")
    if Invoice.objects.filter(installment=line, status__in=[*Invoice.LIVE_STATUSES, Invoice.Status.PAID]).exists():
        return ChargeOutcome(Attempt.SKIPPED, reason="invoice_out")
    if last is not None and last.status in (Attempt.SUCCEEDED, Attempt.FALLBACK):
        return ChargeOutcome(Attempt.SKIPPED, last.pk, reason=last.status)
    if last is not None and last.retry_on and last.retry_on > today:
        return ChargeOutcome("not_due", last.pk)
    number = (last.attempt + 1) if last is not None else 1
    attempt = ChargeAttempt(
        account=account, deal=deal, installment=line, card=card, attempt=number,
        request_id=f"charge:{account.pk}:{line.pk}:{number}", reference=f"AP-{line.pk}-{number}",
        amount=line.amount - line.paid, charge_date=today)
    if card_expired(card, today):
        # Never sent: an expired card cannot pay, and it is never tried again (no loop).
        attempt.status, attempt.reason_code = Attempt.FALLBACK, EXPIRED_CARD
        attempt.reason, attempt.finished_at = CARD_EXPIRED, timezone.now()
        attempt.save()
        _card_stop(card, CARD_EXPIRED)
        _fell_back(attempt)
        return ChargeOutcome(Attempt.FALLBACK, attempt.pk, "card_expired")
    attempt.save()
    return _Planned(attempt, _charge_of(attempt, card, deal, line), reconcile=False)


def _charge_of(attempt: ChargeAttempt, card: SavedCard, deal: Deal, line: Installment) -> ChargeToken:
    with in_account_language(deal.account):  # the client reads it on the bank statement and the receipt
        description = pgettext("autopay charge", "%(service)s, payment %(seq)s") % {
            "service": deal_service_name(deal), "seq": line.seq}
    receipt = (yookassa_receipt(deal=deal, amount=attempt.amount, reference=attempt.reference)
               if card.gateway == YOOKASSA else None)
    return ChargeToken(
        receipt=receipt,
        amount=attempt.amount, token=card.token, account_id=card.gateway_account_id, invoice_id=attempt.reference,
        description=description, currency=deal.account.currency,
        email=deal.contact_email or None, scheduled=True)


def _reconcile(planned: _Planned, gateway: Gateway) -> ChargeOutcome | None:
    """An attempt older than the gateway's request-id memory: find what became of it before sending again."""
    try:
        found = gateway.find_payment(planned.attempt.reference)
    except GatewayError as exc:
        return ChargeOutcome("pending", planned.attempt.pk, exc.message)
    if found is None:
        return None  # it never arrived: the same request may go now
    if found.status in ("Completed", "Authorized"):
        return _attempt_succeeded(attempt_id=planned.attempt.pk, transaction_id=str(found.transaction_id))
    if found.status == "AwaitingAuthentication":
        return _attempt_give_up(attempt_id=planned.attempt.pk, reason=NEEDS_3DS, revoke=False,
                                transaction_id=found.transaction_id)
    return _attempt_declined(attempt_id=planned.attempt.pk, reason_code=int(found.raw.get("ReasonCode") or 0),
                             transaction_id=found.transaction_id, reason=str(found.raw.get("Reason") or ""))


def _attempt_answered(*, attempt_id: int, result: ChargeResult) -> ChargeOutcome:
    if result.needs_3ds:
        # A merchant-initiated charge cannot show the bank's page to the client: the link can.
        return _attempt_give_up(attempt_id=attempt_id, reason=NEEDS_3DS, revoke=False,
                                transaction_id=result.transaction_id)
    if not result.success or result.reason_code:
        return _attempt_declined(attempt_id=attempt_id, reason_code=result.reason_code,
                                 transaction_id=result.transaction_id, reason=result.reason or "")
    return _attempt_succeeded(attempt_id=attempt_id, transaction_id=str(result.transaction_id))


def _locked_attempt(attempt_id: int) -> ChargeAttempt:
    attempt = ChargeAttempt.objects.select_related("deal").get(pk=attempt_id)
    deal_lock(deal=attempt.deal)
    return ChargeAttempt.objects.select_for_update(no_key=True, of=("self",)).select_related(
        "card", "installment", "deal__account").get(pk=attempt_id)


@transaction.atomic
def _attempt_succeeded(*, attempt_id: int, transaction_id: str) -> ChargeOutcome:
    attempt = _locked_attempt(attempt_id)
    payment = _charge_payment_record(attempt, transaction_id)
    if attempt.status == Attempt.SENDING:
        attempt.status, attempt.payment, attempt.transaction_id = Attempt.SUCCEEDED, payment, transaction_id
        attempt.finished_at = timezone.now()
        attempt.save(update_fields=["status", "payment", "transaction_id", "finished_at"])
    return ChargeOutcome(Attempt.SUCCEEDED, attempt.pk)


def _charge_payment_record(attempt: ChargeAttempt, transaction_id: str) -> Payment:
    """The money moved: recorded once per transaction; if the line was paid meanwhile the excess is credit."""
    card = attempt.card
    with in_account_language(attempt.account):
        comment = pgettext("autopay payment comment", "Autopay, payment %(seq)s, card *%(card)s") % {
            "seq": attempt.installment.seq, "card": card.card_last_four}
    payment, _created = payment_record_from_gateway(deal=attempt.deal, amount=attempt.amount, payment=PaymentInput(
        method=Payment.Method.YOOKASSA if card.gateway == YOOKASSA else Payment.Method.CARD_TOKEN,
        paid_at=account_today(attempt.account), transaction_id=transaction_id, comment=comment))
    return payment


@transaction.atomic
def _attempt_declined(*, attempt_id: int, reason_code: int | None, transaction_id: int | None, reason: str
                      ) -> ChargeOutcome:
    attempt = _locked_attempt(attempt_id)
    if attempt.status != Attempt.SENDING:
        return ChargeOutcome(attempt.status, attempt.pk, attempt.reason)
    attempt.reason = reason[:255]
    reason = decline_reason(reason_code)
    attempt.reason_code = reason.code
    attempt.transaction_id = str(transaction_id or "")
    attempt.finished_at = timezone.now()
    delays = retry_days(attempt.account)
    if reason.kind == DeclineKind.SOFT and attempt.attempt <= len(delays):
        attempt.status = Attempt.DECLINED
        attempt.retry_on = attempt.charge_date + timedelta(days=delays[attempt.attempt - 1])
        attempt.save()
        return ChargeOutcome(Attempt.DECLINED, attempt.pk, str(reason.code))
    attempt.status = Attempt.FALLBACK
    attempt.save()
    if reason.kind == DeclineKind.HARD:
        _card_stop(attempt.card, f"declined {reason.code}")
    _fell_back(attempt)
    return ChargeOutcome(Attempt.FALLBACK, attempt.pk, str(reason.code))


@transaction.atomic
def _attempt_give_up(*, attempt_id: int, reason: str, revoke: bool, transaction_id: int | None = None
                     ) -> ChargeOutcome:
    attempt = _locked_attempt(attempt_id)
    if attempt.status != Attempt.SENDING:
        return ChargeOutcome(attempt.status, attempt.pk, attempt.reason)
    attempt.status, attempt.reason = Attempt.FALLBACK, reason[:255]
    attempt.transaction_id, attempt.finished_at = str(transaction_id or ""), timezone.now()
    attempt.save()
    if revoke:
        _card_stop(attempt.card, reason)
    _fell_back(attempt)
    return ChargeOutcome(Attempt.FALLBACK, attempt.pk, reason)


def _card_stop(card: SavedCard, reason: str) -> None:
    SavedCard.objects.filter(pk=card.pk, status=Card.ACTIVE).update(
        status=Card.REVOKED, disabled_at=timezone.now(), disabled_by="bank", status_reason=reason[:255])


def _fell_back(attempt: ChargeAttempt) -> None:
    """Remembered on the attempt; the client's email and the manager's task go once the link exists
    (`on_invoice_issued`), so the email carries it."""
    logger.info("autopay attempt %s of line %s fell back to the invoice link (%s %s)", attempt.pk,
                attempt.installment_id, attempt.reason_code or "", attempt.reason)


def _fallback_invoice(*, installment_id: int, gateway: Gateway | None) -> None:
    """The ordinary invoice link for a line autopay gave up on (the tick issues it too, should this fail)."""
    from billing.services.invoicing import invoice_issue

    try:
        invoice_issue(installment_id=installment_id, gateway=gateway)
    except ApplicationError as exc:
        logger.info("autopay fallback of line %s: no invoice (%s)", installment_id, exc.code)


def on_invoice_issued(event: DomainEvent) -> None:
    """In the issuing transaction: an invoice for a line autopay gave up on announces `autopay_failed`
    (the client's email with this link, the manager's task) — once per attempt."""
    invoice = Invoice.objects.filter(pk=event.payload["invoice_id"]).select_related("deal", "installment").first()
    if invoice is None:
        return
    attempt = (ChargeAttempt.objects.select_for_update(no_key=True, of=("self",))
               .filter(installment_id=invoice.installment_id, status=Attempt.FALLBACK, failure_published_at=None)
               .select_related("card").order_by("-attempt").first())
    if attempt is None:
        return
    ChargeAttempt.objects.filter(pk=attempt.pk).update(failure_published_at=timezone.now(), invoice=invoice)
    publish(account=invoice.account, name=AUTOPAY_FAILED, payload={
        "deal_id": invoice.deal_id, "external_id": invoice.deal.external_id, "attempt_id": attempt.pk,
        "installment_id": invoice.installment_id, "seq": invoice.installment.seq, "amount": str(attempt.amount),
        "reason_code": attempt.reason_code, "reason": attempt.reason, "card_last_four": attempt.card.card_last_four,
        "card_stopped": attempt.card.status == Card.REVOKED, "invoice_id": invoice.pk, "number": invoice.number,
        "payment_url": invoice.payment_url, "attempts": attempt.attempt})


def on_invoices_issued(events: list[DomainEvent]) -> None:
    """`on_invoice_issued` for a tick's chunk: one query finds the few invoices of lines autopay gave up on
    [I]; only those are looked at one by one."""
    ids = [event.payload["invoice_id"] for event in events]
    fallen_back = set(Invoice.objects.filter(
        pk__in=ids, installment__charge_attempts__status=Attempt.FALLBACK,
        installment__charge_attempts__failure_published_at=None).values_list("pk", flat=True))
    for event in events:
        if event.payload["invoice_id"] in fallen_back:
            on_invoice_issued(event)


# ---- notifications of our own charges ----------------------------------------------------------------------

def charge_attempt_for_reference(*, account: Account, reference: str | None) -> ChargeAttempt | None:
    if not reference or not reference.startswith("AP-"):
        return None
    return ChargeAttempt.objects.filter(account=account, reference=reference).first()


def charge_attempt_settle_paid(*, attempt: ChargeAttempt, transaction_id: str, amount) -> Payment:
    """A Pay notification of a token charge (it may beat the charge's own answer): the same recording."""
    if amount is not None and amount != attempt.amount:
        logger.warning("autopay attempt %s: Pay says %s, we asked %s", attempt.pk, amount, attempt.amount)
    _attempt_succeeded(attempt_id=attempt.pk, transaction_id=transaction_id)
    return Payment.objects.get(account=attempt.account, transaction_id=transaction_id)


# ---- the tick --------------------------------------------------------------------------------------------

@dataclass
class AutopayReport:
    charged: int = 0
    declined: int = 0
    fallback: int = 0
    pending: int = 0
    refused: list[str] | None = None


def autopay_run(*, account: Account, today: date, gateway: Gateway | None = None) -> AutopayReport:
    """Charge every due line of the account's autopay plans; twice-run ticks charge nothing twice."""
    report = AutopayReport(refused=[])
    for installment_id in installments_due_for_charge(account=account, today=today):
        try:
            outcome = autopay_charge(installment_id=installment_id, today=today, gateway=gateway)
        except ApplicationError as exc:
            report.refused.append(f"{account.slug}/{installment_id}: {exc.code}")
            continue
        if outcome.status == Attempt.SUCCEEDED:
            report.charged += 1
        elif outcome.status == Attempt.DECLINED:
            report.declined += 1
        elif outcome.status == Attempt.FALLBACK:
            report.fallback += 1
        elif outcome.status == "pending":
            report.pending += 1
    return report


def register() -> None:
    subscribe_batch(INVOICE_ISSUED, on_invoices_issued)


