"""The Bitrix24 adapter behind the CRM port (crm.port): a Bitrix24 account's outbox rows delivered through
crm.bitrix24.adapter (batch requests, the portal's leaky bucket in the client).

Every action kind of the CRM-neutral outbox maps to one adapter function:
update_fields → fields_update, add_note → comments_add, summary_note → comment_upsert (edited in place),
create_task → tasks_add, move_to_completed → deals_move_to_won, update_lead → deals_update,
update_contact → contacts_update, fetch_lead → deals_fetch (+ billing's deal_update_crm_data).
"""
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from django.db import transaction
from django.utils.translation import gettext

from billing.domain.plan_autostart import DealValues, Stage
from billing.errors import ApplicationError
from billing.jobs import job_enqueue
from billing.models import Account, Deal
from billing.services.deals import deal_cancel, deal_get_or_create, deal_update_crm_data
from billing.services.plan_autostart import autostart_watched_status_ids, deal_stage_observe
from crm.bitrix24 import adapter
from crm.bitrix24.client import Bitrix24Client
from crm.bitrix24.models import Portal
from crm.models import CrmAction
from crm.outbox import DRAIN_JOB, Outcome, crm_lead_fetch_add
from crm.port import CrmUnavailable

logger = logging.getLogger(__name__)

KIND = "bitrix24"
Kind = CrmAction.Kind
# Kinds that create something in the portal: after an uncertain attempt they are looked up, not re-sent.
CREATE_KINDS = frozenset({Kind.ADD_NOTE, Kind.CREATE_TASK, Kind.SUMMARY_NOTE})


def _outcome(action: CrmAction, result: adapter.ItemResult | None) -> Outcome:
    if result is None:
        return Outcome(action, "retry", error="no answer for this item", maybe_sent=action.kind in CREATE_KINDS)
    if result.ok:
        return Outcome(action, "done", error=result.error, entity_id=result.entity_id)
    return Outcome(action, "dead" if result.permanent else "retry", error=result.error)


def _summary_comment_id(action: CrmAction) -> int | None:
    return (CrmAction.objects.filter(deal_id=action.deal_id, kind=Kind.SUMMARY_NOTE, state=CrmAction.State.DONE,
                                     crm_entity_id__isnull=False, id__lt=action.pk)
            .order_by("-id").values_list("crm_entity_id", flat=True).first())


def stage_code(payload: dict) -> str | None:
    """The stage of an update_lead action as Bitrix24 names it: the feed writes the stage the account's
    settings name (`status_id`; a Bitrix24 account picks `C1:UC_…`/`WON` from its own pipelines). A bare
    number is an amoCRM status id, which no Bitrix24 stage is: not sent (the responsible user still is)."""
    raw = payload.get("stage_id") or payload.get("status_id")
    text = str(raw or "").strip()
    return text if text and not text.isdigit() else None


def _deadline(action: CrmAction) -> str:
    till = action.payload.get("complete_till")
    moment = datetime.fromtimestamp(int(till), tz=UTC) if till else datetime.now(tz=UTC)
    return moment.isoformat()


def deliver(client: Bitrix24Client, actions: list[CrmAction]) -> tuple[list[Outcome], str]:
    """One round of one portal's actions, grouped by kind (one batch each)."""
    outcomes: list[Outcome] = []
    by_kind: dict[str, list[CrmAction]] = {}
    for action in actions:
        by_kind.setdefault(action.kind, []).append(action)
    for kind, group in by_kind.items():
        try:
            outcomes += _deliver_kind(client, kind, group)
        except Exception as exc:  # a transport failure of the round: the group tries again later
            logger.warning("Bitrix24 %s round failed: %s", kind, exc)
            outcomes += [Outcome(action, "retry", error=f"{type(exc).__name__}: {exc}"[:500],
                                 maybe_sent=kind in CREATE_KINDS) for action in group]
    return outcomes, ""


def _deliver_kind(client: Bitrix24Client, kind: str, group: list[CrmAction]) -> list[Outcome]:
    if kind == Kind.UPDATE_FIELDS:
        results = adapter.fields_update(client, {a.external_id: a.payload.get("fields") or {} for a in group})
        return [_outcome(a, results.get(a.external_id)) for a in group]
    if kind == Kind.ADD_NOTE:
        results = adapter.comments_add(client, {str(a.pk): (a.external_id, a.payload["text"]) for a in group})
        return [_outcome(a, results.get(str(a.pk))) for a in group]
    if kind == Kind.SUMMARY_NOTE:
        return [_outcome(a, adapter.comment_upsert(client, deal_id=a.external_id, text=a.payload["text"],
                                                   comment_id=_summary_comment_id(a))) for a in group]
    if kind == Kind.CREATE_TASK:
        tasks = {str(a.pk): adapter.TaskSpec(deal_id=a.external_id, title=a.payload["text"], deadline=_deadline(a),
                                             responsible_id=a.payload.get("responsible_user_id"))
                 for a in group}
        results = adapter.tasks_add(client, tasks)
        return [_outcome(a, results.get(str(a.pk))) for a in group]
    if kind == Kind.MOVE_TO_COMPLETED:
        results = adapter.deals_move_to_won(client, [a.external_id for a in group])
        return [_outcome(a, results.get(a.external_id)) for a in group]
    if kind == Kind.UPDATE_LEAD:
        updates = {a.external_id: {"STAGE_ID": stage_code(a.payload),
                                   "ASSIGNED_BY_ID": a.payload.get("responsible_user_id")} for a in group}
        results = adapter.deals_update(client, updates)
        return [_outcome(a, results.get(a.external_id)) for a in group]
    if kind == Kind.UPDATE_CONTACT:
        contact_of = {a.external_id: a.payload.get("contact") or {} for a in group}
        results = adapter.contacts_update(client, contact_of)
        return [_outcome(a, results.get(a.external_id)) for a in group]
    if kind == Kind.FETCH_LEAD:
        return _fetch(client, group)
    return [Outcome(a, "dead", error=f"Bitrix24 has no delivery for {kind!r}") for a in group]


def _fetch(client: Bitrix24Client, group: list[CrmAction]) -> list[Outcome]:
    deals = adapter.deals_fetch(client, [a.external_id for a in group])
    watched = autostart_watched_status_ids(account=group[0].deal.account) if group else frozenset()
    outcomes = []
    for action in group:
        deal = deals.get(action.external_id)
        if deal is None:
            if action.payload.get("deleted"):
                deal_cancel(deal=action.deal, reason="The deal was deleted in Bitrix24.")
                outcomes.append(Outcome(action, "done", error="the deal is deleted in Bitrix24: deal cancelled"))
            else:
                outcomes.append(Outcome(action, "done", error="the deal is not in Bitrix24 (deleted or no access)"))
            continue
        try:
            deal_update_crm_data(deal=action.deal, name=deal["name"], contact_name=deal["contact_name"],
                                 contact_phone=deal["contact_phone"], contact_email=deal["contact_email"],
                                 responsible_user_id=deal["responsible_user_id"], service_name=None)
        except ApplicationError as exc:
            outcomes.append(Outcome(action, "dead", error=exc.message))
            continue
        if watched:
            _stage_rules(action, deal)
        outcomes.append(Outcome(action, "done"))
    return outcomes


def _stage_rules(action: CrmAction, deal: dict) -> None:
    """[J] The deal's stage (its STATUS_ID code, the pipeline its category) and amount go to billing's stage
    rules; a failure there never fails the fetch."""
    if not deal.get("stage_id"):
        return
    category = str(deal.get("category_id") or "0")
    stage = Stage(deal["stage_id"], int(category) if category.isdigit() else None)
    amount = deal.get("opportunity")
    try:
        deal_stage_observe(deal=action.deal, stage=stage, values=DealValues(amount="" if amount is None else
                                                                            str(amount)),
                           stage_reported=bool(action.payload.get("stage_moved")))
    except ApplicationError as exc:
        logger.warning("Stage rules for Bitrix24 deal %s: %s", action.external_id, exc.message)


# --- portal lifecycle and deal events -----------------------------------------------------------------
def on_portal_installed(sender, *, portal_id: int, **kwargs) -> None:
    """A (re)install or a revived token pair: the actions parked meanwhile go out now."""
    account_id = Portal.objects.filter(pk=portal_id).values_list("account_id", flat=True).first()
    if account_id is not None:
        job_enqueue(DRAIN_JOB, account_id=account_id)


def on_deal_changed(sender, *, portal_id: int, deal_id: int, change: str, **kwargs) -> None:
    """ONCRMDEALUPDATE / ONCRMDEALDELETE of a deal PayPlan knows: read it again (the event carries only
    its ID); a deletion is believed only when Bitrix24 no longer has the deal, and then only cancels the
    deal's plan and links: its payments stay.

    [J] ONCRMDEALADD: a deal made in a stage arrived in that stage, so the stage rules may act on it once
    it is read (`stage_moved`). While the account's plan rules watch a stage, a new deal PayPlan never saw is
    made here: the event does not say its stage, the read does (and its stage is remembered, so a later move
    into the trigger stage is seen as a move)."""
    account = Account.objects.filter(bitrix24_portal__pk=portal_id).first() if portal_id else None
    if account is None:
        return
    deal = Deal.objects.filter(account=account, crm_kind=KIND, external_id=deal_id).first()
    added = change == "added"
    if deal is None and added and autostart_watched_status_ids(account=account):
        deal = deal_get_or_create(account=account, external_id=deal_id)
    if deal is None:
        return
    with transaction.atomic():
        crm_lead_fetch_add(deal=deal, source=f"bitrix24_event:{change}", deleted=change == "deleted",
                           stage_moved=added)


class _Session:
    def __init__(self, client: Bitrix24Client) -> None:
        self.client = client

    def deliver(self, actions):
        return deliver(self.client, list(actions))


class Bitrix24Adapter:
    kind = KIND
    own_fields = True  # the install makes PayPlan's deal user fields
    stage_ids = "code"  # a stage is its STATUS_ID (`C1:WON`), a pipeline its category id (0: the default)
    create_kinds = frozenset(CREATE_KINDS)

    def not_ready(self, account_id: int) -> str:
        portal = Portal.objects.filter(account_id=account_id).first()
        if portal is None or portal.status != Portal.Status.INSTALLED:
            return "not connected"  # parked until a (re)install; nothing is lost
        if "fields" not in (portal.setup or {}):
            return "setting up"  # the first install's user fields are not made yet: the setup drains after
        return ""

    def options(self, account) -> dict:
        from crm.bitrix24.options import crm_options_get

        return crm_options_get(account=account)

    def user_names(self, account) -> dict[int, str]:
        from crm.bitrix24.options import crm_user_names

        return crm_user_names(account=account)

    def connection(self, account) -> dict:
        """The portal's install state in the settings page's words (the amoCRM connection's statuses)."""
        portal = Portal.objects.filter(account=account).first()
        if portal is None:
            reason = gettext("PayPlan is not installed in this Bitrix24 portal yet.")
            return {"status": "not_installed", "reason": reason}
        status = {Portal.Status.INSTALLED: "connected", Portal.Status.NEEDS_REINSTALL: "needs_reinstall",
                  Portal.Status.UNINSTALLED: "disconnected"}.get(portal.status, "disconnected")
        return {"status": status, "reason": portal.status_reason}

    def session(self, account_id: int, *, max_wait: float = 30.0) -> _Session:
        portal = Portal.objects.filter(account_id=account_id, status=Portal.Status.INSTALLED).first()
        if portal is None:
            raise CrmUnavailable("not connected")
        return _Session(Bitrix24Client(portal, max_wait=max_wait))

    def ready_account_ids(self, account_ids: Sequence[int]) -> list[int]:
        return sorted(Portal.objects.filter(account_id__in=list(account_ids), status=Portal.Status.INSTALLED)
                      .values_list("account_id", flat=True))

    def completed_tasks_poll(self) -> int:
        from crm.bitrix24.payout_tasks import payout_tasks_poll_all

        return sum(report.recorded for report in payout_tasks_poll_all().values())
