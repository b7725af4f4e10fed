"""Billing's domain events turned into CRM actions, written inside the transaction that publishes them,
so a change and what amoCRM must hear about it commit (or roll back) together."""
from datetime import datetime, time
from zoneinfo import ZoneInfo

from billing.events import (
    DEAL_PAID,
    INVOICE_ISSUED,
    PAYMENT_FAILED,
    PAYMENT_RECORDED,
    PAYMENT_REFUNDED,
    SCHEDULE_CHANGED,
    subscribe,
)
from billing.models import Deal, Direction, DomainEvent, Installment
from billing.time import account_today
from documents.selectors import invoice_pdf_url_for
from widget_api.account_settings import crm_settings
from widget_api.amocrm import texts
from widget_api.amocrm.outbox import crm_action_add, crm_fields_update_add
from widget_api.models import CrmAction

Kind = CrmAction.Kind


def _deal(event: DomainEvent) -> Deal:
    return Deal.objects.select_related("account").get(pk=event.payload["deal_id"])


def fields_snapshot(deal: Deal) -> dict:
    """The lead field values PayPlan owns, as plain JSON (money as strings, dates ISO).

    Runs inside every payment's transaction, so it reads the deal's cached totals and one list of
    lines instead of the whole card; the monthly payment is the first regular line, as the card shows.
    """
    lines = list(Installment.objects.filter(schedule__deal_id=deal.pk, schedule__is_active=True)
                 .order_by("seq").values_list("kind", "amount", "due_date"))
    monthly = next((amount for kind, amount, _ in lines if kind == Installment.Kind.REGULAR), None)
    return {
        "total": str(deal.total), "received": str(deal.paid), "debt": str(deal.debt),
        "payments_count": len(lines) or None,
        "monthly_payment": str(monthly) if monthly is not None else None,
        "last_payment_day": max(due for _, _, due in lines).isoformat() if lines else None,
        "group": deal.group, "education_direction": deal.education_direction,
    }


def _fields(deal: Deal, event: DomainEvent) -> dict:
    """Queue a field update when the account maps any field; the snapshot feeds the note texts too."""
    snapshot = fields_snapshot(deal)
    if crm_settings(deal.account).field_ids:
        crm_fields_update_add(deal=deal, snapshot=snapshot, source=event.name)
    return snapshot


def _note(deal: Deal, event: DomainEvent, text: str) -> None:
    crm_action_add(deal=deal, kind=Kind.ADD_NOTE, payload={"text": text}, source=event.name)


def _task(deal: Deal, event: DomainEvent, text: str) -> None:
    """A task due by the end of the account's day (23:59 local shows as "all day" in amoCRM)."""
    zone = ZoneInfo(deal.account.time_zone)
    end_of_day = datetime.combine(account_today(deal.account), time(23, 59), tzinfo=zone)
    crm_action_add(deal=deal, kind=Kind.CREATE_TASK, source=event.name, payload={
        "text": text, "complete_till": int(end_of_day.timestamp()),
        "responsible_user_id": crm_settings(deal.account).task_user_id})


def _money(deal: Deal, amount) -> str:
    return texts.money_text(amount, deal.account.currency)


def _payout_words(deal: Deal, name: str) -> str:
    """A payout plan's notes speak of payouts: the `payout_` text of `name` when the deal pays the client."""
    if deal.direction != Direction.OUTGOING:
        return name
    return {"schedule_created": "payout_schedule_created", "schedule_changed": "payout_schedule_changed",
            "payment_refunded": "payout_refunded"}.get(name, name)


def on_schedule_changed(event: DomainEvent) -> None:
    deal = _deal(event)
    snapshot = _fields(deal, event)
    version = event.payload.get("version") or 1
    name = "schedule_created" if version == 1 else "schedule_changed"
    _note(deal, event, texts.note_text(
        _payout_words(deal, name), version=version,
        total=_money(deal, snapshot["total"]), count=snapshot["payments_count"],
        monthly=_money(deal, snapshot["monthly_payment"]), last_due=texts.date_text(snapshot["last_payment_day"]),
        debt=_money(deal, snapshot["debt"])))


def on_payment_recorded(event: DomainEvent) -> None:
    deal = _deal(event)
    snapshot = _fields(deal, event)
    name = ("payout_recorded" if deal.direction == Direction.OUTGOING
            else "payment_recorded_paid" if deal.status == Deal.Status.PAID else "payment_recorded")
    _note(deal, event, texts.note_text(
        name, amount=_money(deal, event.payload["amount"]), method=texts.method_text(event.payload["method"]),
        paid=_money(deal, snapshot["received"]), debt=_money(deal, snapshot["debt"])))


def on_deal_paid(event: DomainEvent) -> None:
    """Incoming plans move the lead to the Completed stage; an outgoing one asks a person to close it.
    The fields go first, so whatever the stage change sets off in amoCRM already sees the final numbers."""
    deal = _deal(event)
    _fields(deal, event)
    if deal.direction == Direction.OUTGOING:
        _task(deal, event, texts.task_text("close_outgoing", total=_money(deal, event.payload["total"])))
    else:
        crm_action_add(deal=deal, kind=Kind.MOVE_TO_COMPLETED, payload={}, source=event.name)


def on_invoice_issued(event: DomainEvent) -> None:
    deal = _deal(event)
    payload = event.payload
    _note(deal, event, texts.note_text(
        "invoice_issued", number=payload["number"], amount=_money(deal, payload["amount"]),
        due_date=texts.date_text(payload["due_date"]), payment_url=payload["payment_url"],
        pdf_url=invoice_pdf_url_for(account_id=deal.account_id, invoice_id=payload["invoice_id"])))


def on_payment_failed(event: DomainEvent) -> None:
    deal = _deal(event)
    payload = event.payload
    values = {"number": payload["number"], "amount": _money(deal, payload["amount"]), "reason": payload["reason"]}
    _note(deal, event, texts.note_text("payment_failed", **values))
    _task(deal, event, texts.task_text("payment_failed", **values))


def on_payment_refunded(event: DomainEvent) -> None:
    deal = _deal(event)
    snapshot = _fields(deal, event)
    _note(deal, event, texts.note_text(
        _payout_words(deal, "payment_refunded"), amount=_money(deal, event.payload["amount"]),
        paid=_money(deal, snapshot["received"]), debt=_money(deal, snapshot["debt"])))


def register() -> None:
    subscribe(SCHEDULE_CHANGED, on_schedule_changed)
    subscribe(PAYMENT_RECORDED, on_payment_recorded)
    subscribe(DEAL_PAID, on_deal_paid)
    subscribe(INVOICE_ISSUED, on_invoice_issued)
    subscribe(PAYMENT_FAILED, on_payment_failed)
    subscribe(PAYMENT_REFUNDED, on_payment_refunded)

