"""The deal status tick: the stored status follows the calendar, not only money writes.

A deal's status depends on today (a line left unpaid past its due date makes it `overdue`), so a
deal nobody touched would keep a stale `active` row. Every money write stores what the selector
derives; this tick, per account and in the account's time zone, stores it again for the deals whose
derived status the date has changed. Idempotent: a missed or doubled beat loses nothing.
"""
from datetime import date

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q

from billing.models import Account, Deal, Installment
from billing.services.deals import deal_lock, deal_recompute
from billing.time import account_today


def _candidates(account: Account, today: date):
    """Deals whose stored status may disagree with today's. Only a prefilter: the selector decides."""
    fell_due = Installment.objects.filter(schedule__deal_id=OuterRef("pk"), schedule__is_active=True,
                                          paid__lt=F("amount"), due_date__lt=today)
    return (Deal.objects.filter(account=account, cancelled_at__isnull=True).alias(has_fallen_due=Exists(fell_due))
            .filter(Q(status=Deal.Status.ACTIVE, has_fallen_due=True)
                    | Q(status=Deal.Status.OVERDUE, has_fallen_due=False))
            .order_by("pk"))


def deal_statuses_refresh(*, account: Account, today: date | None = None) -> int:
    """Store today's derived status of the account's deals the date has changed; returns how many changed."""
    today = today or account_today(account)
    changed = 0
    for deal in _candidates(account, today):
        with transaction.atomic():
            locked = deal_lock(deal=deal)
            before = locked.status
            deal_recompute(deal=locked, today=today)
            changed += locked.status != before
    return changed


def deal_status_tick() -> int:
    """Every active account, each on its own today."""
    return sum(deal_statuses_refresh(account=account)
               for account in Account.objects.filter(is_active=True).order_by("pk"))
