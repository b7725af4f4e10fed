"""Billing's domain events turned into CRM actions by the event relay's `widget_api.crm_feed` handler (its key
is stored on every delivery row, so it keeps the name it was born with). CRM-neutral: the same actions for
every CRM kind, each adapter (crm.port) says them in its CRM's terms (amoCRM lead fields, notes, tasks,
the Completed status; Bitrix24 deal user fields, timeline comments, tasks, the won stage of the deal's
pipeline).

The relay runs it after the change commits (nothing is written for a rolled-back one), one deal's events
in order, and again after a crash: the actions of an event are written in one transaction and are unique
per (event, kind), so a feed run twice adds nothing. Amounts in the notes are the event's own (its debt
and status), not whatever the deal holds when the relay gets to it.
"""
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction

from billing.client_links import client_page_url
from billing.decline_reasons import NEEDS_CLIENT, decline_text
from billing.events import (
    AUTOPAY_CHANGED,
    AUTOPAY_FAILED,
    CLIENT_CONTACT_CHANGED,
    DEAL_PAID,
    DEAL_STAGE_GATED,
    INVOICE_ISSUED,
    PAYMENT_FAILED,
    PAYMENT_RECORDED,
    PAYMENT_REFUNDED,
    PAYMENT_REVERSED,
    PAYOUT_DUE,
    PAYOUT_FAILED,
    PLAN_AUTOSTART_NOTED,
    PLAN_EXTENDED,
    SCHEDULE_CHANGED,
    SCHEDULE_PROPOSAL_DECIDED,
    SCHEDULE_PROPOSED,
    register_handler,
)
from billing.models import Account, Deal, Direction, DomainEvent, Installment, Payment
from billing.selectors import deal_figures_get
from billing.services.payouts import payout_roles
from billing.texts import in_account_language
from billing.time import account_today
from crm import port, texts
from crm.dunning_feed import DUNNING_FEED, on_deal_stage_changed
from crm.models import CrmAction
from crm.outbox import crm_action_add, crm_fields_update_add
from crm.settings import crm_settings
from documents.selectors import invoice_pdf_url_for

Kind = CrmAction.Kind


def _deal(event: DomainEvent) -> Deal:
    return Deal.objects.select_related("account").get(pk=event.payload["deal_id"])


def fields_snapshot(deal: Deal) -> dict:
    """The lead field values PayPlan owns, as plain JSON (money as strings, dates ISO), with the
    figures the card shows: both come from the one selector of a deal's derived state."""
    figures = deal_figures_get(deal=deal)
    lines_count = Installment.objects.filter(schedule__deal_id=deal.pk, schedule__is_active=True).count()
    return {
        "total": str(figures.total), "received": str(figures.paid), "debt": str(figures.debt),
        "payments_count": lines_count or None,
        "monthly_payment": str(figures.monthly_payment) if figures.monthly_payment is not None else None,
        "last_payment_day": figures.last_due_date.isoformat() if figures.last_due_date else None,
        "next_payment_date": figures.next_due.due_date.isoformat() if figures.next_due else None,
        "group": deal.group, "education_direction": deal.education_direction,
    }


def _fields(deal: Deal, event: DomainEvent) -> dict:
    """Queue a field update when the account maps any field; the snapshot feeds the note texts too."""
    snapshot = fields_snapshot(deal)
    if crm_settings(deal.account).field_ids or port.fields_always_sent(deal.account.crm_kind):
        crm_fields_update_add(deal=deal, snapshot=snapshot, source=event.name, event=event)
    return snapshot


def _note(deal: Deal, event: DomainEvent, text: str) -> None:
    crm_action_add(deal=deal, kind=Kind.ADD_NOTE, payload={"text": text}, source=event.name, event=event)


def _task(deal: Deal, event: DomainEvent, text: str, *, user_id: int | None = None, day: date | None = None,
          extra: dict | None = None) -> None:
    """A task for `user_id` (None: the account's task user, else the lead's responsible) due by the end of
    `day` (the account's today) in the account's time zone: 23:59 local shows as "all day" in amoCRM."""
    zone = ZoneInfo(deal.account.time_zone)
    end_of_day = datetime.combine(day or account_today(deal.account), time(23, 59), tzinfo=zone)
    crm_action_add(deal=deal, kind=Kind.CREATE_TASK, source=event.name, event=event, payload={
        "text": text, "complete_till": int(end_of_day.timestamp()),
        "responsible_user_id": user_id or crm_settings(deal.account).task_user_id, **(extra or {})})


def _money(deal: Deal, amount) -> str:
    return texts.money_text(amount, deal.account.currency)


def _payout_words(deal: Deal, name: str) -> str:
    """A payout plan's notes speak of payouts: the `payout_` text of `name` when the deal pays the client."""
    if deal.direction != Direction.OUTGOING:
        return name
    return {"schedule_created": "payout_schedule_created", "schedule_changed": "payout_schedule_changed",
            "payment_refunded": "payout_refunded", "payment_reversed": "payout_reversed"}.get(name, name)


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
    _payout_summary(deal, event, snapshot)


def _as_of_event(snapshot: dict, event: DomainEvent) -> dict:
    """The received and debt figures as the event saw them (its payload carries the debt then)."""
    debt = event.payload.get("debt")
    if debt is None:
        return snapshot
    return snapshot | {"debt": debt, "received": str(Decimal(snapshot["total"]) - Decimal(debt))}


def on_payment_recorded(event: DomainEvent) -> None:
    deal = _deal(event)
    snapshot = _as_of_event(_fields(deal, event), event)
    status = event.payload.get("status", deal.status)
    name = ("payout_recorded" if deal.direction == Direction.OUTGOING
            else "payment_recorded_paid" if status == Deal.Status.PAID else "payment_recorded")
    _note(deal, event, texts.note_text(
        name, amount=_money(deal, event.payload["amount"]), method=texts.method_text(event.payload["method"]),
        paid=_money(deal, snapshot["received"]), debt=_money(deal, snapshot["debt"])))
    _payout_summary(deal, event, snapshot)


def on_deal_paid(event: DomainEvent) -> None:
    """Incoming plans move the lead to the Completed stage; an outgoing one asks a person to close it.
    The fields go first, so whatever the stage change sets off in amoCRM already sees the final numbers."""
    deal = _deal(event)
    _fields(deal, event)
    if deal.direction == Direction.OUTGOING:
        _task(deal, event, texts.task_text("close_outgoing", total=_money(deal, event.payload["total"])),
              user_id=payout_roles(deal.account).claims_specialist_user_id)
    else:
        crm_action_add(deal=deal, kind=Kind.MOVE_TO_COMPLETED, payload={}, source=event.name, event=event)


def on_invoice_issued(event: DomainEvent) -> None:
    deal = _deal(event)
    payload = event.payload
    _note(deal, event, texts.note_text(
        "invoice_issued", number=payload["number"], amount=_money(deal, payload["amount"]),
        due_date=texts.date_text(payload["due_date"]), payment_url=payload["payment_url"],
        pdf_url=invoice_pdf_url_for(account_id=deal.account_id, invoice_id=payload["invoice_id"]),
        client_page_url=client_page_url(deal)))


def on_payment_failed(event: DomainEvent) -> None:
    deal = _deal(event)
    payload = event.payload
    values = {"number": payload["number"], "amount": _money(deal, payload["amount"]),
              "reason": payload.get("reason_text") or payload["reason"]}
    _note(deal, event, texts.note_text("payment_failed", **values))
    _task(deal, event, texts.task_text("payment_failed", **values))


def on_payment_refunded(event: DomainEvent) -> None:
    deal = _deal(event)
    snapshot = _as_of_event(_fields(deal, event), event)
    reason = event.payload.get("reason")
    name = "payment_refunded_reason" if reason and deal.direction != Direction.OUTGOING else "payment_refunded"
    _note(deal, event, texts.note_text(
        _payout_words(deal, name), amount=_money(deal, event.payload["amount"]), reason=reason,
        paid=_money(deal, snapshot["received"]), debt=_money(deal, snapshot["debt"])))
    _payout_summary(deal, event, snapshot)


def _payout_summary(deal: Deal, event: DomainEvent, snapshot: dict) -> None:
    """A payout plan keeps one running summary note (total / paid out / left), edited in place."""
    if deal.direction != Direction.OUTGOING:
        return
    lines = list(Installment.objects.filter(schedule__deal_id=deal.pk, schedule__is_active=True)
                 .values_list("amount", "paid"))
    paid_count = sum(1 for amount, paid in lines if paid >= amount)
    crm_action_add(deal=deal, kind=Kind.SUMMARY_NOTE, source=event.name, event=event, payload={
        "summary": "payouts", "text": texts.note_text(
            "payout_summary", total=_money(deal, snapshot["total"]), paid=_money(deal, snapshot["received"]),
            left=_money(deal, snapshot["debt"]), paid_count=paid_count, count=len(lines),
            updated=texts.date_text(account_today(deal.account)))})


def on_plan_extended(event: DomainEvent) -> None:
    """A recurring plan rolled forward: only the lead fields (the next payment date, the totals) follow."""
    _fields(_deal(event), event)


def on_payout_due(event: DomainEvent) -> None:
    """The accountant's task for one payout, due by the end of its date; completing it records the payout
    (crm.amocrm.payout_tasks finds the completion)."""
    deal = _deal(event)
    payload = event.payload
    _task(deal, event, texts.task_text(
        "payout_approve" if payload.get("automatic") else "payout_due", amount=_money(deal, payload["amount"]),
        recipient=payload["recipient"] or texts.catalog()["none"],
        due_date=texts.date_text(payload["due_date"]), seq=payload["seq"],
        requisites=payload["requisites"] or texts.catalog()["none"]),
        user_id=payload.get("assignee_user_id"), day=date.fromisoformat(payload["due_date"]),
        extra={"payout_id": payload["payout_id"]})


def on_payout_failed(event: DomainEvent) -> None:
    """An automatic payout YooKassa canceled ([K]): back to the accountant, a task (completing it = paid by
    hand, crm.amocrm.payout_tasks) and a note; the text was written by billing in the account's
    language."""
    deal = _deal(event)
    payload = event.payload
    _note(deal, event, payload["text"])
    _task(deal, event, payload["text"], user_id=payload.get("assignee_user_id"),
          extra={"payout_id": payload["payout_id"]})


def on_payment_reversed(event: DomainEvent) -> None:
    """A storno: the lead's fields follow the re-opened debt, and the feed says what was undone and why."""
    deal = _deal(event)
    snapshot = _as_of_event(_fields(deal, event), event)
    original = Payment.objects.get(pk=event.payload["reversal_of"], account_id=deal.account_id)
    _note(deal, event, texts.note_text(
        _payout_words(deal, "payment_reversed"), amount=_money(deal, event.payload["amount"]),
        method=texts.method_text(original.method), paid_at=texts.date_text(original.paid_at),
        reason=event.payload["reason"], paid=_money(deal, snapshot["received"]), debt=_money(deal, snapshot["debt"])))


def _autopay_reason(payload: dict) -> str:
    """In the account's language: crm_feed runs every handler inside it."""
    if payload.get("reason") == "3ds_required":
        return str(NEEDS_CLIENT)
    return decline_text(payload.get("reason_code"))


def on_autopay_failed(event: DomainEvent) -> None:
    """The card could not pay a line and the client has the link: a note, and a task for the manager."""
    deal = _deal(event)
    payload = event.payload
    values = {"seq": payload["seq"], "amount": _money(deal, payload["amount"]), "reason": _autopay_reason(payload),
              "last_four": payload.get("card_last_four") or "—", "attempts": payload.get("attempts") or 1,
              "number": payload.get("number") or "—", "payment_url": payload.get("payment_url") or "—"}
    text = texts.note_text("autopay_failed", **values)
    if payload.get("card_stopped"):
        text += " " + texts.note_text("autopay_card_stopped", **values)
    _note(deal, event, text)
    _task(deal, event, texts.task_text("autopay_failed", **values))


def on_autopay_changed(event: DomainEvent) -> None:
    deal = _deal(event)
    payload = event.payload
    by = str(payload.get("by") or "")
    who = texts.autopay_by_text(by)
    name = "autopay_enabled" if payload.get("enabled") else "autopay_disabled"
    _note(deal, event, texts.note_text(name, last_four=payload.get("card_last_four") or "—",
                                       card_exp=payload.get("card_exp") or "—", by=who))


def on_schedule_proposed(event: DomainEvent) -> None:
    deal = _deal(event)
    expires = datetime.fromisoformat(event.payload["expires_at"]).astimezone(ZoneInfo(deal.account.time_zone))
    when = f"{texts.date_text(expires.date())} {expires:%H:%M}"
    _note(deal, event, texts.note_text("schedule_proposed", expires=when, client_page_url=client_page_url(deal)))


def on_schedule_proposal_decided(event: DomainEvent) -> None:
    """Either answer is the manager's to act on: a note for the history and a task for today."""
    deal = _deal(event)
    payload = event.payload
    name = "proposal_approved" if payload["approved"] else "proposal_declined"
    decided_at = datetime.fromisoformat(payload["decided_at"]).astimezone(ZoneInfo(deal.account.time_zone))
    values = {"decided_by": payload.get("decided_by") or "", "decided_at": decided_at.strftime("%d.%m.%Y %H:%M"),
              "version": payload.get("version") or ""}
    if payload["approved"]:
        _fields(deal, event)
    _note(deal, event, texts.note_text(name, **values))
    _task(deal, event, texts.task_text(name, **values))


def on_client_contact_changed(event: DomainEvent) -> None:
    """The lead's main contact gets the corrected name, phone and email; the history gets a note."""
    deal = _deal(event)
    contact = event.payload["contact"]
    crm_action_add(deal=deal, kind=Kind.UPDATE_CONTACT, payload={"contact": contact}, source=event.name, event=event)
    _note(deal, event, texts.note_text("client_contact_changed", client_name=contact["name"],
                                       phone=contact["phone"], email=contact["email"]))


FEED = {
    SCHEDULE_CHANGED: on_schedule_changed,
    AUTOPAY_FAILED: on_autopay_failed,
    AUTOPAY_CHANGED: on_autopay_changed,
    PAYMENT_RECORDED: on_payment_recorded,
    DEAL_PAID: on_deal_paid,
    INVOICE_ISSUED: on_invoice_issued,
    PAYMENT_FAILED: on_payment_failed,
    PAYMENT_REFUNDED: on_payment_refunded,
    PAYMENT_REVERSED: on_payment_reversed,
    SCHEDULE_PROPOSED: on_schedule_proposed,
    SCHEDULE_PROPOSAL_DECIDED: on_schedule_proposal_decided,
    CLIENT_CONTACT_CHANGED: on_client_contact_changed,
    PAYOUT_DUE: on_payout_due,
    PAYOUT_FAILED: on_payout_failed,
    PLAN_EXTENDED: on_plan_extended,
    **DUNNING_FEED,  # collections: overdue, reminders, answers, escalations, stage moves, fees
    # [J] stage rules: a note (the plan built, or why not); a deal moved back from a stage closed until paid
    PLAN_AUTOSTART_NOTED: lambda event: _note(_deal(event), event, event.payload["text"]),
    DEAL_STAGE_GATED: on_deal_stage_changed,
}


@transaction.atomic
def crm_feed(event: DomainEvent) -> None:
    """Relay handler: write the event's CRM actions once (the drain is asked for on commit)."""
    if CrmAction.objects.filter(event=event).exists():
        return
    account = Account.objects.filter(pk=event.account_id).first()
    with in_account_language(account):  # notes and tasks in the account's language, whoever caused them
        FEED[event.name](event)


def register() -> None:
    for name in FEED:
        register_handler(name, "widget_api.crm_feed", crm_feed, ordered=True)
