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
from crm.outbox import crm_lead_fetch_add

LEAD_ID_KEY = re.compile(r"^leads\[([a-z_]+)\]\[\d+\]\[id\]$")
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
        if key == "account[id]" or LEAD_ID_KEY.match(key):
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
    with transaction.atomic():
        for deal in deals:
            crm_lead_fetch_add(deal=deal, source="amocrm_hook", deleted=deal.external_id in deleted)
    return len(deals)
