"""What the deal card shows of an outgoing plan's payouts: the client's requisites for automatic payouts
and each payout with its approval and YooKassa state ([K], billing.services.payouts_auto)."""
from billing.models import Deal, Payout, PayoutDestination
from billing.services.payouts_auto import payout_reason_text


def payouts_state_get(*, deal: Deal) -> dict:
    destination = PayoutDestination.objects.filter(deal=deal).first()
    payouts = Payout.objects.filter(deal=deal).select_related("installment").order_by("due_date", "pk")
    return {
        "payouts_connected": deal.account.yookassa_payouts_connected,
        "destination": None if destination is None else {
            "kind": destination.kind, "phone": destination.phone, "bank_id": destination.bank_id,
            "card_last4": destination.card_last4, "payout_token_set": bool(destination.payout_token),
            "account_number": destination.account_number, "auto": destination.auto},
        "payouts": [{
            "id": payout.pk, "seq": payout.installment.seq, "due_date": payout.due_date, "amount": payout.amount,
            "state": payout.state, "approved": payout.approved_at is not None, "approved_at": payout.approved_at,
            "gateway_status": payout.gateway_status, "gateway_payout_id": payout.gateway_payout_id,
            "failure": payout_reason_text(payout.gateway_failure) if payout.gateway_failure else "",
            "can_approve": payout.state == Payout.State.DUE and (
                payout.approved_at is None or payout.gateway_status == "canceled"),
        } for payout in payouts],
    }
