"""Receivables stages: a debtor deal's aging bucket (by its oldest unpaid line) maps to a CRM stage, and the
lead moves once each time it ages into a mapped bucket (event `deal_stage_changed`)."""
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Min
from django.utils.translation import gettext, gettext_lazy

from billing.dunning import domain
from billing.dunning.events import DEAL_STAGE_CHANGED
from billing.dunning.models import DealStage
from billing.events import publish
from billing.models import Account, Deal, Direction, Installment
from billing.texts import in_account_language, plain_money_text


def oldest_unpaid_due_dates(*, account: Account, today: date) -> dict[int, date]:
    """deal_id → the due date of its oldest unpaid incoming line (due within the coming week or earlier)."""
    rows = (Installment.objects
            .filter(schedule__deal__account=account, schedule__is_active=True,
                    schedule__direction=Direction.INCOMING, schedule__deal__cancelled_at__isnull=True,
                    paid__lt=F("amount"), due_date__lte=today + timedelta(days=7))
            .values("schedule__deal_id").annotate(oldest=Min("due_date")))
    return {row["schedule__deal_id"]: row["oldest"] for row in rows}


def stages_sync(*, account: Account, policy: domain.Policy, today: date, now: datetime) -> int:
    """Move every debtor lead whose bucket changed into its mapped stage; returns how many moved."""
    if not policy.stages:
        return 0
    targets = policy.stage_map
    oldest = oldest_unpaid_due_dates(account=account, today=today)
    known = dict(DealStage.objects.filter(account=account).values_list("deal_id", "bucket"))
    moved = 0
    for deal_id, due_date in oldest.items():
        days_overdue = (today - due_date).days
        bucket = domain.aging_bucket(days_overdue)
        if bucket is None or known.get(deal_id) == bucket or bucket not in targets:
            continue
        moved += _move(account=account, deal_id=deal_id, bucket=bucket, target=targets[bucket],
                       days_overdue=days_overdue, now=now)
    return moved


@transaction.atomic
def _move(*, account: Account, deal_id: int, bucket: str, target: domain.StageTarget, days_overdue: int,
          now: datetime) -> int:
    try:
        with transaction.atomic():
            DealStage.objects.get_or_create(deal_id=deal_id, defaults={"account": account, "bucket": "",
                                                                       "moved_at": now})
    except IntegrityError:
        pass  # a concurrent tick made the row; the lock below waits for it
    row = DealStage.objects.select_for_update().get(deal_id=deal_id)
    if row.bucket == bucket:
        return 0  # a concurrent tick moved it already
    row.bucket, row.moved_at = bucket, now
    row.save(update_fields=["bucket", "moved_at"])
    deal = Deal.objects.get(pk=deal_id)
    with in_account_language(account):
        text = gettext("The deal moved to the «%(bucket)s» stage: %(days)s days overdue, debt %(debt)s.") % {
            "bucket": BUCKET_LABELS[bucket], "days": max(days_overdue, 0), "debt": plain_money_text(deal.debt)}
    publish(account=account, name=DEAL_STAGE_CHANGED, payload={
        "deal_id": deal.pk, "external_id": deal.external_id, "bucket": bucket, "status_id": target.status_id,
        "pipeline_id": target.pipeline_id, "days_overdue": max(days_overdue, 0), "debt": str(deal.debt),
        "text": text})
    return 1


BUCKET_LABELS = {
    "due_next_7_days": gettext_lazy("due in the next 7 days"),
    "overdue_1_30": gettext_lazy("1–30 days overdue"),
    "overdue_31_90": gettext_lazy("31–90 days overdue"),
    "overdue_91_180": gettext_lazy("91–180 days overdue"),
    "overdue_over_180": gettext_lazy("over 180 days overdue"),
}
