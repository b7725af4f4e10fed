"""Account-local dates: 'today' is always the account's today, never the server's."""
from datetime import date
from zoneinfo import ZoneInfo

from django.utils import timezone

from billing.models import Account


def account_today(account: Account) -> date:
    return timezone.now().astimezone(ZoneInfo(account.time_zone)).date()
