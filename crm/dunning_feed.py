"""Collections' events (billing.dunning) turned into CRM tasks, notes and deal updates (any CRM kind).

Part of the relay's `widget_api.crm_feed` handler (crm.feed.FEED): run after commit, one
deal's events in order, each action unique per (event, kind) so a feed run twice adds nothing. Every
handler here writes at most one action of each kind.
"""
from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from billing.dunning.events import (
    CLIENT_ANSWERED,
    DEAL_ESCALATED,
    DEAL_STAGE_CHANGED,
    INSTALLMENT_OVERDUE,
    PENALTY_CHANGED,
    REMINDER_FAILED,
    REMINDER_SENT,
)
from billing.models import Deal, DomainEvent
from billing.time import account_today
from crm.models import CrmAction
from crm.outbox import crm_action_add
from crm.settings import crm_settings

Kind = CrmAction.Kind
CHANNEL_NAMES = {"client_email": "email", "client_sms": "SMS", "client_whatsapp": "WhatsApp",
                 "client_telegram": "Telegram"}


def _deal(event: DomainEvent) -> Deal:
    return Deal.objects.select_related("account").get(pk=event.payload["deal_id"])


def _note(deal: Deal, event: DomainEvent, text: str) -> None:
    crm_action_add(deal=deal, kind=Kind.ADD_NOTE, payload={"text": text}, source=event.name, event=event)


def _task(deal: Deal, event: DomainEvent, text: str, user_id: int | None) -> None:
    """A task due by the end of the account's day, for `user_id` (None: the account's task user or the lead's
    responsible, as every other PayPlan task)."""
    zone = ZoneInfo(deal.account.time_zone)
    end_of_day = datetime.combine(account_today(deal.account), time(23, 59), tzinfo=zone)
    crm_action_add(deal=deal, kind=Kind.CREATE_TASK, source=event.name, event=event, payload={
        "text": text, "complete_till": int(end_of_day.timestamp()),
        "responsible_user_id": user_id or crm_settings(deal.account).task_user_id})


def on_installment_overdue(event: DomainEvent) -> None:
    """Overdue the same day: a task for the responsible manager and a note, with the templated text."""
    deal = _deal(event)
    text = event.payload["text"]
    _task(deal, event, text, event.payload.get("responsible_user_id"))
    _note(deal, event, _("Overdue: %(text)s") % {"text": text})


def on_reminder_sent(event: DomainEvent) -> None:
    """A manager-task step becomes a task for its assignee, a note step a note; a client message is noted."""
    deal = _deal(event)
    payload = event.payload
    channel = payload.get("channel")
    if channel == "manager_task":
        _task(deal, event, payload["text"], payload.get("assignee_user_id"))
    elif channel == "note":
        _note(deal, event, payload["text"])
    else:
        _note(deal, event, _("Reminder sent (%(channel)s, %(recipient)s): %(text)s") % {
            "channel": CHANNEL_NAMES.get(channel, channel), "recipient": payload.get("recipient", ""),
            "text": payload.get("text", "")})


def on_reminder_failed(event: DomainEvent) -> None:
    payload = event.payload
    _note(_deal(event), event, _("Reminder not delivered (%(channel)s, %(recipient)s): %(error)s") % {
        "channel": CHANNEL_NAMES.get(payload.get("channel"), ""),
        "recipient": payload.get("recipient") or _("no address"), "error": payload.get("error", "")})


def on_client_answered(event: DomainEvent) -> None:
    """The client's answer is a note and a task; a manager's own entry (a promise, a call) only a note."""
    deal = _deal(event)
    payload = event.payload
    text = payload.get("text") or _("The client's answer: %(answer)s") % {"answer": payload.get("answer")}
    if payload.get("answer") == "promise" and payload.get("promised_on"):
        text = _("The client promised to pay by %(date)s: the payment's reminders are paused.") % {
            "date": _date(payload["promised_on"])}
    _note(deal, event, text)
    if payload.get("source") == "client":
        _task(deal, event, text, payload.get("responsible_user_id"))


def on_deal_escalated(event: DomainEvent) -> None:
    """A step's or a manager's action: move the lead, hand it to a user (the lawyer), or ask for a decision.

    A ladder step that is itself a manager task (or a note) gets that task (note) from its own
    `reminder_sent`: the action adds no second one, so a +30 «hand to the lawyer» step is one task, one note."""
    deal = _deal(event)
    payload = event.payload
    step_channel = payload.get("step_channel")
    task = _task if step_channel != "manager_task" else lambda *args: None
    note = _note if step_channel != "note" else lambda *args: None
    action = payload.get("action") or {}
    kind = action.get("kind")
    text = payload.get("text") or ""
    if kind == "move_to_stage" and action.get("status_id"):
        crm_action_add(deal=deal, kind=Kind.UPDATE_LEAD, source=event.name, event=event, payload={
            "status_id": action["status_id"], "pipeline_id": action.get("pipeline_id")})
        note(deal, event, text)
    elif kind == "assign_user":
        user_id = action.get("user_id")
        update = {"responsible_user_id": user_id} if user_id else {}
        if action.get("status_id"):  # a decision the account mapped to a stage (e.g. «Передано юристу»)
            update |= {"status_id": action["status_id"], "pipeline_id": action.get("pipeline_id")}
        if update:
            crm_action_add(deal=deal, kind=Kind.UPDATE_LEAD, source=event.name, event=event, payload=update)
        task(deal, event, text or _("The deal is handed to the lawyer."), user_id or payload.get("assignee_user_id"))
        note(deal, event, text or _("The deal is handed to the lawyer."))
    else:  # write_off_decision, monthly, late_fee: a record and a person who looks at it
        if action.get("status_id"):
            crm_action_add(deal=deal, kind=Kind.UPDATE_LEAD, source=event.name, event=event, payload={
                "status_id": action["status_id"], "pipeline_id": action.get("pipeline_id")})
        note(deal, event, text)
        if kind == "write_off_decision":
            task(deal, event, _("Write-off decision: %(text)s") % {"text": text}, payload.get("assignee_user_id"))


def on_deal_stage_changed(event: DomainEvent) -> None:
    deal = _deal(event)
    payload = event.payload
    crm_action_add(deal=deal, kind=Kind.UPDATE_LEAD, source=event.name, event=event, payload={
        "status_id": payload["status_id"], "pipeline_id": payload.get("pipeline_id")})
    _note(deal, event, payload["text"])


def on_penalty_changed(event: DomainEvent) -> None:
    _note(_deal(event), event, event.payload["text"])


def _date(iso: str) -> str:
    year, month, day = iso.split("-")
    return f"{day}.{month}.{year}"


DUNNING_FEED = {
    INSTALLMENT_OVERDUE: on_installment_overdue,
    REMINDER_SENT: on_reminder_sent,
    REMINDER_FAILED: on_reminder_failed,
    CLIENT_ANSWERED: on_client_answered,
    DEAL_ESCALATED: on_deal_escalated,
    DEAL_STAGE_CHANGED: on_deal_stage_changed,
    PENALTY_CHANGED: on_penalty_changed,
}
