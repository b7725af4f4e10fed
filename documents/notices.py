"""Client emails about declined payments, as event-relay handlers: the autopay charge that gave up (with the
invoice link instead) and a declined card payment by the invoice link (with the link to try again).
Russian through gettext; each one sent once per key (`ClientNotice`)."""
import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from billing.decline_reasons import NEEDS_CLIENT, decline_text
from billing.events import AUTOPAY_FAILED, PAYMENT_FAILED, DeliveryNotYet, register_handler
from billing.models import Deal, DomainEvent, Invoice
from billing.texts import in_account_language
from billing.time import account_today
from billing.transactions import assert_no_transaction
from documents import emails
from documents.contexts import common_variables
from documents.models import ClientNotice

logger = logging.getLogger(__name__)

NOTICE_LEASE = timedelta(minutes=10)
# Why autopay gave up when the bank sent no ReasonCode (billing.services.autopay).
NO_CODE_REASONS = {"3ds_required": NEEDS_CLIENT}


def _reason_text(reason_code: int | None, reason: str) -> str:
    if reason in NO_CODE_REASONS:
        return str(NO_CODE_REASONS[reason])
    return decline_text(reason_code)


@transaction.atomic
def _notice_claim(*, account, key: str, recipient: str, subject: str) -> ClientNotice | None:
    notice, _ = ClientNotice.objects.get_or_create(account=account, key=key, defaults={"recipient": recipient})
    notice = ClientNotice.objects.select_for_update().get(pk=notice.pk)
    if notice.status in (ClientNotice.Status.SENT, ClientNotice.Status.SKIPPED):
        return None
    now = timezone.now()
    if notice.status == ClientNotice.Status.SENDING and notice.claimed_at and now - notice.claimed_at < NOTICE_LEASE:
        raise DeliveryNotYet(f"notice {key} is being sent by another worker")
    notice.recipient, notice.subject, notice.claimed_at = recipient, subject[:255], now
    if not recipient:
        notice.status, notice.error = ClientNotice.Status.SKIPPED, "The deal has no client email."
        notice.save()
        return None
    notice.status, notice.error = ClientNotice.Status.SENDING, ""
    notice.attempts += 1
    notice.save()
    return notice


def client_notice_send(*, deal: Deal, key: str, title: str, body: str) -> ClientNotice:
    """Send once; an SMTP failure is recorded and raised for the relay's retry."""
    assert_no_transaction()
    variables = common_variables(deal)
    claim = _notice_claim(account=deal.account, key=key, recipient=variables["client"]["email"], subject=title)
    if claim is None:
        return ClientNotice.objects.get(account=deal.account, key=key)
    try:
        emails.notice_message(company=variables["company"], recipient=claim.recipient, title=title, body=body,
                              key=key).send(fail_silently=False)
    except Exception as exc:
        ClientNotice.objects.filter(pk=claim.pk).update(status=ClientNotice.Status.FAILED,
                                                        error=f"{type(exc).__name__}: {exc}"[:255])
        raise
    ClientNotice.objects.filter(pk=claim.pk).update(status=ClientNotice.Status.SENT, sent_at=timezone.now())
    claim.refresh_from_db()
    return claim


def _still_unpaid(invoice: Invoice | None) -> bool:
    return invoice is None or invoice.status in Invoice.LIVE_STATUSES


def on_autopay_failed(event: DomainEvent) -> None:
    """Relay handler `documents.autopay_failed`: the client's email with the bank's reason and the link."""
    payload = event.payload
    deal = Deal.objects.select_related("account").get(pk=payload["deal_id"])
    invoice = Invoice.objects.filter(pk=payload.get("invoice_id")).first()
    if not _still_unpaid(invoice):
        return  # paid (or cancelled) before the email went: nothing to ask for
    currency = deal.account.currency
    with in_account_language(deal.account):  # the client reads the account's language
        variables = common_variables(deal)
        title, body = emails.autopay_failed_text(
            client=variables["client"], company=variables["company"], deal=variables["deal"],
            amount=emails.money_sign(payload["amount"], currency), seq=payload["seq"],
            last_four=payload.get("card_last_four") or "", reason=_reason_text(payload.get("reason_code"),
                                                                               payload.get("reason") or ""),
            link=payload.get("payment_url") or "", card_stopped=bool(payload.get("card_stopped")))
    client_notice_send(deal=deal, key=f"autopay_failed:{payload['attempt_id']}", title=title, body=body)


def on_payment_failed(event: DomainEvent) -> None:
    """Relay handler `documents.payment_failed`: a declined card payment by the invoice link. The payer may
    try again at once, so one email per invoice a day, and none once the invoice is paid."""
    payload = event.payload
    invoice = Invoice.objects.select_related("deal__account").filter(pk=payload["invoice_id"]).first()
    if invoice is None or invoice.status != Invoice.Status.ISSUED or not invoice.payment_url:
        return
    deal = invoice.deal
    with in_account_language(deal.account):  # the client reads the account's language
        variables = common_variables(deal)
        title, body = emails.payment_failed_text(
            client=variables["client"], company=variables["company"], deal=variables["deal"],
            amount=emails.money_sign(payload["amount"], deal.account.currency), number=invoice.number,
            reason=_reason_text(payload.get("reason_code"), ""), link=invoice.payment_url)
    day = account_today(deal.account).isoformat()
    client_notice_send(deal=deal, key=f"payment_failed:{invoice.pk}:{day}", title=title, body=body)


def register() -> None:
    register_handler(AUTOPAY_FAILED, "documents.autopay_failed", on_autopay_failed)
    register_handler(PAYMENT_FAILED, "documents.payment_failed", on_payment_failed)
