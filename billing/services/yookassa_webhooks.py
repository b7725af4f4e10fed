"""YooKassa HTTP notifications: stored as they arrive, trusted only after two checks, recorded once.

1. The source address must be in YooKassa's networks (settings.YOOKASSA_NOTIFICATION_NETWORKS).
2. The object is re-read from the API with the account's own keys (no transaction, no lock held): it must
   exist in this shop, be in the state the event claims, and carry the same amount. What gets recorded is the
   API's object, never the notification's.
A delivery failing either is stored (head only) and refused; nothing is recorded. A verified one is stored
and processed in one transaction, deduplicated per (event, object id) by the same unique index as
CloudPayments' events: twenty copies, or twenty racing ones, record one payment.
"""
import hashlib
import json
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from billing.errors import ApplicationError
from billing.gateway import jsonwire
from billing.gateway.errors import GatewayError, GatewayUnavailable
from billing.gateway.notifications import NotificationInvalid, NotificationOutcome, Outcome, invalid
from billing.gateway.yookassa import YooKassaGateway, YooKassaPayouts
from billing.gateway.yookassa_notifications import (
    REFUND_EVENTS,
    envelope_read,
    notification_from_payment,
    notification_from_refund,
    source_trusted,
    verify_payment,
    verify_refund,
)
from billing.models import Account, GatewayEvent, Payout
from billing.services import webhooks
from billing.services.gateways import YOOKASSA, yookassa_gateway, yookassa_payouts
from billing.services.payouts_auto import payout_gateway_apply
from billing.transactions import assert_no_transaction

logger = logging.getLogger(__name__)

UNTRUSTED_BODY_HEAD = 2048


def yookassa_source_address(*, remote_addr: str | None, forwarded_for: str | None) -> str | None:
    """The sender: REMOTE_ADDR, or behind our own proxy (YOOKASSA_TRUST_FORWARDED_FOR) the hop it appended."""
    if settings.YOOKASSA_TRUST_FORWARDED_FOR and forwarded_for:
        return forwarded_for.split(",")[-1].strip()
    return remote_addr


def yookassa_notification_receive(*, account: Account, raw_body: bytes, source_ip: str | None,
                                  gateway: YooKassaGateway | None = None,
                                  payouts_gateway: YooKassaPayouts | None = None) -> NotificationOutcome:
    assert_no_transaction()
    headers = {"source_ip": source_ip}
    base = {"account": account, "gateway": YOOKASSA, "body_sha256": hashlib.sha256(raw_body).hexdigest(),
            "body_size": len(raw_body), "content_type": "application/json"}
    try:
        envelope = envelope_read(raw_body)
    except NotificationInvalid as exc:
        _refused(base, raw_body, headers, "invalid", "", GatewayEvent.Status.INVALID, f"{exc.field}: {exc.message}")
        return invalid(exc.field, exc.message)
    kind, object_id = envelope.event, envelope.object_id
    if kind.startswith("payout."):
        return _payout_notification(account, envelope, base, raw_body, headers, source_ip, payouts_gateway)
    if not account.yookassa_connected:
        message = _("YooKassa is not connected: the account has no shop ID or secret key, so nothing is accepted.")
        _refused(base, raw_body, headers, kind, object_id, GatewayEvent.Status.REJECTED, message)
        return NotificationOutcome(Outcome.NOT_CONNECTED, message=message)
    if not source_trusted(source_ip, settings.YOOKASSA_NOTIFICATION_NETWORKS):
        message = _("The notification did not come from YooKassa's addresses: refused.")
        _refused(base, raw_body, headers, kind, object_id, GatewayEvent.Status.REJECTED, message)
        logger.warning("YooKassa %s %s for %s from %s: source not allowed", kind, object_id, account.slug,
                       source_ip)
        return NotificationOutcome(Outcome.REJECTED_SIGNATURE, message=message)
    try:
        verified, note = _reread(gateway or yookassa_gateway(account), account, envelope)
    except GatewayUnavailable as exc:
        # Not known either way: refused for now; YooKassa delivers again (for 24 hours).
        logger.warning("YooKassa %s %s: the API did not answer: %s", kind, object_id, exc.message)
        return NotificationOutcome(Outcome.FAILED, message=_("YooKassa did not answer the check; try again later."))
    except (GatewayError, ApplicationError, NotificationInvalid) as exc:
        reason = getattr(exc, "message", str(exc))
        message = _("YooKassa's API does not confirm this notification: %(reason)s") % {"reason": reason}
        _refused(base, raw_body, headers, kind, object_id, GatewayEvent.Status.REJECTED, message)
        logger.warning("YooKassa %s %s for %s refused: %s", kind, object_id, account.slug, reason)
        return NotificationOutcome(Outcome.REJECTED_SIGNATURE, message=message)
    values = {**base, "kind": kind, "transaction_id": object_id, "raw_body": raw_body, "signature_valid": True,
              "headers": {**headers, "verified_object": verified}}
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = GatewayEvent.objects.create(**values)
        except IntegrityError:
            return webhooks._duplicate(account=account, kind=kind, transaction_id=object_id)
        try:
            with transaction.atomic():
                return webhooks._process(event, note)
        except Exception as exc:  # a bug, not bad input: kept for the replay command, YooKassa delivers again
            logger.exception("YooKassa event %s failed", event.pk)
            GatewayEvent.objects.filter(pk=event.pk).update(status=GatewayEvent.Status.FAILED, error=repr(exc)[:2000])
            return NotificationOutcome(Outcome.FAILED, message="Stored; processing failed and will be retried.")


PAYOUT_EVENT_STATUSES = {"payout.succeeded": "succeeded", "payout.canceled": "canceled"}


def _payout_notification(account: Account, envelope, base: dict, raw_body: bytes, headers: dict,
                         source_ip: str | None, gateway: YooKassaPayouts | None) -> NotificationOutcome:
    """`payout.succeeded` / `payout.canceled` from the payout gateway ([K]): the same two checks (source,
    then the payout re-read with the payout gateway's keys), then applied once to our payout."""
    kind, object_id = envelope.event, envelope.object_id
    if not account.yookassa_payouts_connected:
        message = _("YooKassa payouts are not connected: nothing is accepted.")
        _refused(base, raw_body, headers, kind, object_id, GatewayEvent.Status.REJECTED, message)
        return NotificationOutcome(Outcome.NOT_CONNECTED, message=message)
    if not source_trusted(source_ip, settings.YOOKASSA_NOTIFICATION_NETWORKS):
        message = _("The notification did not come from YooKassa's addresses: refused.")
        _refused(base, raw_body, headers, kind, object_id, GatewayEvent.Status.REJECTED, message)
        return NotificationOutcome(Outcome.REJECTED_SIGNATURE, message=message)
    try:
        remote = (gateway or yookassa_payouts(account)).payout_get(object_id)
    except GatewayUnavailable as exc:
        logger.warning("YooKassa %s %s: the API did not answer: %s", kind, object_id, exc.message)
        return NotificationOutcome(Outcome.FAILED, message=_("YooKassa did not answer the check; try again later."))
    except (GatewayError, ApplicationError) as exc:
        remote, problem = None, getattr(exc, "message", str(exc))
    else:
        problem = _payout_problem(envelope, remote)
    payout = _our_payout(account, remote) if problem is None else None
    if problem is None and payout is None:
        problem = "The payout is not one PayPlan sent for this account."
    if problem is not None:
        message = _("YooKassa's API does not confirm this notification: %(reason)s") % {"reason": problem}
        _refused(base, raw_body, headers, kind, object_id, GatewayEvent.Status.REJECTED, message)
        logger.warning("YooKassa %s %s refused: %s", kind, object_id, problem)
        return NotificationOutcome(Outcome.REJECTED_SIGNATURE, message=message)
    with transaction.atomic():
        try:
            with transaction.atomic():
                GatewayEvent.objects.create(**base, kind=kind, transaction_id=object_id, raw_body=raw_body,
                                            signature_valid=True, status=GatewayEvent.Status.PROCESSED,
                                            headers={**headers, "verified_object": _plain(remote.raw)})
        except IntegrityError:
            GatewayEvent.objects.filter(account=account, kind=kind, transaction_id=object_id,
                                        signature_valid=True).update(replays=F("replays") + 1)
            return NotificationOutcome(Outcome.DUPLICATE, previous=NotificationOutcome(Outcome.ACCEPTED))
        payout_gateway_apply(payout_id=payout.pk, remote=remote)
    return NotificationOutcome(Outcome.ACCEPTED)


def _payout_problem(envelope, remote) -> str | None:
    if remote.id != envelope.object_id:
        return "The API returned another payout."
    if remote.status != PAYOUT_EVENT_STATUSES.get(envelope.event):
        return f"The API says the payout is {remote.status}, not {envelope.event}."
    if envelope.amount is not None and envelope.amount != remote.amount:
        return f"The notification says {envelope.amount}, the API {remote.amount}."
    return None


def _our_payout(account: Account, remote) -> Payout | None:
    payout_id = str(remote.metadata.get("payplan_payout") or "")
    if not payout_id.isdigit():
        return None
    payout = Payout.objects.filter(pk=int(payout_id), account=account).first()
    attempt = str(remote.metadata.get("payplan_attempt", payout.gateway_attempt if payout else ""))
    if payout is None or (payout.gateway_payout_id and payout.gateway_payout_id != remote.id) or (
            attempt != str(payout.gateway_attempt)):
        return None
    return payout


def _reread(gateway: YooKassaGateway, account: Account, envelope):
    """The API's object for the notification, or a reason it does not confirm it (raised)."""
    if envelope.event in REFUND_EVENTS:
        refund = gateway.get_refund(envelope.object_id)
        problem = verify_refund(envelope, refund)
        if problem is None:
            # A refund of a payment of another shop is not found by this shop's keys; the payment is ours.
            return _plain(refund.raw), notification_from_refund(envelope.event, refund)
    elif envelope.event.startswith("payment."):
        payment = gateway.get_payment(envelope.object_id)
        problem = verify_payment(envelope, payment, shop_id=account.yookassa_shop_id)
        if problem is None:
            return _plain(payment.raw), notification_from_payment(envelope.event, payment)
    else:
        problem = f"Event {envelope.event} is not one PayPlan subscribes to."
    raise NotificationInvalid("object", problem)


def _plain(raw: dict) -> dict:
    return json.loads(jsonwire.dumps(raw))


def _refused(base: dict, raw_body: bytes, headers: dict, kind: str, object_id: str, status: str, error: str) -> None:
    """Kept for operators (its head only: anyone's bytes), never processed, never deduplicated."""
    GatewayEvent.objects.create(**base, kind=kind[:32], transaction_id=object_id[:64],
                                raw_body=raw_body[:UNTRUSTED_BODY_HEAD], signature_valid=False, headers=headers,
                                status=status, error=error)
