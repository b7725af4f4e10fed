"""amoCRM's account webhooks: form-encoded `leads[<event>][<n>][id]` lists, unsigned.

Nothing in a hook is trusted: it only queues a fetch of each lead PayPlan knows, and the fetch reads
the lead from the API. A deal is cancelled only when the hook says "deleted" and the API agrees.
"""
import re
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import transaction
from django.utils.datastructures import MultiValueDict

from billing.models import Account, Deal
from billing.services.deals import deal_get_or_create
from billing.services.plan_autostart import autostart_watched_status_ids
from crm.outbox import crm_lead_fetch_add

LEAD_ID_KEY = re.compile(r"^leads\[([a-z_]+)\]\[\d+\]\[id\]$")
# [J] A status hook's new stage, or the stage an add hook's new lead was made in: a stage the lead arrived in,
# and only a hint that a lead PayPlan never saw may need its plan built (the fetch reads the real stage from
# the API before any rule acts).
LEAD_STATUS_KEY = re.compile(r"^leads\[(status|add)\]\[(\d+)\]\[(id|status_id)\]$")
MAX_LEADS_PER_HOOK = 20_000  # a bulk move of a whole pipeline; known deals are looked up in chunks
LOOKUP_CHUNK = 1000


class HookRefused(Exception):
    """The hook names another account than the one its URL key belongs to (or cannot be read)."""

    def __init__(self, message: str, code: str = "wrong_account") -> None:
        super().__init__(message)
        self.code = code


def hook_form_parse(raw_body: bytes) -> MultiValueDict:
    """The hook's form, keeping only the fields PayPlan reads (account id and lead ids).

    Django's request.POST refuses more than DATA_UPLOAD_MAX_NUMBER_FIELDS fields, and a bulk hook
    (a pipeline's leads moved at once) has tens of thousands: this parser takes up to
    PAYPLAN_HOOK_MAX_FIELDS and keeps a few per lead, so memory stays bounded by the body limit."""
    text = raw_body.decode("utf-8", errors="replace")
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=settings.PAYPLAN_HOOK_MAX_FIELDS)
    except ValueError as exc:
        raise HookRefused("The hook has too many fields.", code="too_many_fields") from exc
    form = MultiValueDict()
    for key, value in pairs:
        if key == "account[id]" or LEAD_ID_KEY.match(key) or LEAD_STATUS_KEY.match(key):
            form.appendlist(key, value)
    return form


def lead_hooks_accept(*, account: Account, form: MultiValueDict) -> int:
    """Queue a lead fetch for every known lead the hook names; returns how many were queued."""
    named_account = form.get("account[id]")
    if named_account and named_account != str(account.crm_account_id):
        raise HookRefused(f"The hook is for account {named_account}, not this one.")
    changed: set[int] = set()
    deleted: set[int] = set()
    for key, values in form.lists():
        match = LEAD_ID_KEY.match(key)
        if match is None:
            continue
        for value in values:
            if value.isascii() and value.isdigit() and len(value) <= 18:
                (deleted if match[1] == "delete" else changed).add(int(value))
    lead_ids = sorted(changed | deleted)[:MAX_LEADS_PER_HOOK]
    deals = [deal for start in range(0, len(lead_ids), LOOKUP_CHUNK)
             for deal in Deal.objects.filter(account=account, external_id__in=lead_ids[start:start + LOOKUP_CHUNK])]
    moved = _moved_leads(form)
    deals += _new_deals_at_watched_stages(account, moved, {deal.external_id for deal in deals})
    with transaction.atomic():
        for deal in deals:
            crm_lead_fetch_add(deal=deal, source="amocrm_hook", deleted=deal.external_id in deleted,
                               stage_moved=deal.external_id in moved)
    return len(deals)


def _moved_leads(form: MultiValueDict) -> dict[int, int | None]:
    """[J] lead id -> the stage id the status or add hook names (None: not given). A lead made straight in a
    stage arrived in it as much as one moved there."""
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for key, values in form.lists():
        match = LEAD_STATUS_KEY.match(key)
        if match and values:
            rows.setdefault((match[1], match[2]), {})[match[3]] = values[-1]
    return {int(row["id"]): int(row["status_id"]) if row.get("status_id", "").isdigit() else None
            for row in rows.values() if row.get("id", "").isascii() and row.get("id", "").isdigit()
            and len(row["id"]) <= 18}


def _new_deals_at_watched_stages(account: Account, moved: dict[int, int | None], known: set[int]) -> list[Deal]:
    """[J] A lead PayPlan never saw, moved into a stage the account's plan rules watch: its deal is made
    (billing decides after the fetch whether anything happens)."""
    watched = autostart_watched_status_ids(account=account)
    return [deal_get_or_create(account=account, external_id=lead_id) for lead_id, status_id in sorted(moved.items())
            if status_id in watched and lead_id not in known][:MAX_LEADS_PER_HOOK]
