"""amoCRM's account webhooks: form-encoded `leads[<event>][<n>][id]` lists, unsigned.

Nothing in a hook is trusted: it only queues a fetch of each lead PayPlan knows, and the fetch reads
the lead from the API. A deal is cancelled only when the hook says "deleted" and the API agrees.
"""
import re

from django.db import transaction
from django.http import QueryDict

from billing.models import Account, Deal
from widget_api.amocrm.outbox import crm_lead_fetch_add

LEAD_ID_KEY = re.compile(r"^leads\[([a-z_]+)\]\[\d+\]\[id\]$")
MAX_LEADS_PER_HOOK = 500


class HookRefused(Exception):
    """The hook names another account than the one its URL key belongs to."""


def lead_hooks_accept(*, account: Account, form: QueryDict) -> int:
    """Queue a lead fetch for every known lead the hook names; returns how many were queued."""
    named_account = form.get("account[id]")
    if named_account and named_account != str(account.amocrm_account_id):
        raise HookRefused(f"The hook is for account {named_account}, not this one.")
    changed: set[int] = set()
    deleted: set[int] = set()
    for key, values in form.lists():
        match = LEAD_ID_KEY.match(key)
        if match is None:
            continue
        for value in values:
            if value.isdigit() and len(value) <= 18:
                (deleted if match[1] == "delete" else changed).add(int(value))
    lead_ids = sorted(changed | deleted)[:MAX_LEADS_PER_HOOK]
    deals = list(Deal.objects.filter(account=account, lead_id__in=lead_ids))
    with transaction.atomic():
        for deal in deals:
            crm_lead_fetch_add(deal=deal, source="amocrm_hook", deleted=deal.lead_id in deleted)
    return len(deals)
