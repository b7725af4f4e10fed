"""Contract numbers: the account's own gapless numbering («Д-2026-000001»), never the CRM's lead id."""
from django.db import IntegrityError, transaction
from django.db.models import F

from billing.models import Account, ContractCounter, Deal
from billing.services.deals import deal_lock
from billing.texts import account_language
from billing.time import account_today

CONTRACT_PREFIX = "Д"
# The prefix a number gets in the account's language (the number is issued once and then stays as it is).
CONTRACT_PREFIXES = {"ru": CONTRACT_PREFIX, "en": "C"}


def _next_contract_number(*, account: Account, year: int) -> str:
    try:
        with transaction.atomic():
            ContractCounter.objects.get_or_create(account=account, year=year)
    except IntegrityError:
        pass  # another transaction created the counter first; the lock below waits for it
    counter = ContractCounter.objects.select_for_update(no_key=True).get(account=account, year=year)
    counter.last_number = F("last_number") + 1
    counter.save(update_fields=["last_number"])
    counter.refresh_from_db(fields=["last_number"])
    prefix = CONTRACT_PREFIXES.get(account_language(account), CONTRACT_PREFIX)
    return f"{prefix}-{year}-{counter.last_number:06d}"


@transaction.atomic
def contract_number_assign(*, account: Account, deal_id: int) -> str | None:
    """The deal's contract number, given under the deal lock the first time it is asked for; None for a
    deal the account does not have (the caller answers 404)."""
    deal = Deal.objects.filter(account=account, pk=deal_id).first()
    if deal is None:
        return None
    if deal.contract_number:
        return deal.contract_number
    deal = deal_lock(deal=deal)
    if not deal.contract_number:
        deal.contract_number = _next_contract_number(account=account, year=account_today(account).year)
        deal.save(update_fields=["contract_number", "updated_at"])
    return deal.contract_number
