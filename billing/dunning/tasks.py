"""Celery tasks of dunning: the tick plans, each send runs on its own, outside any transaction."""
import logging
from datetime import datetime

from celery import shared_task
from django.utils import timezone

from billing.dunning.channels.base import ChannelError
from billing.dunning.channels.registry import provider_for
from billing.dunning.services import channel_error_text, dunning_plan_all, step_run_claim, step_run_finish
from billing.models import Account

logger = logging.getLogger(__name__)


@shared_task(name="dunning.tick")
def dunning_tick(now_iso: str | None = None) -> dict:
    now = datetime.fromisoformat(now_iso) if now_iso else timezone.now()

    def send(step_run_ids: list[int]) -> None:
        for step_run_id in step_run_ids:
            dunning_send_step.delay(step_run_id, now.isoformat())

    report = dunning_plan_all(now=now, on_due=send)
    return {"lines": report.lines, "overdue": report.overdue, "planned": report.planned, "skipped": report.skipped,
            "due": report.due}


@shared_task(name="dunning.send_step")
def dunning_send_step(step_run_id: int, now_iso: str | None = None) -> str:
    """Claim (short transaction), call the provider (no transaction, no lock), record the answer."""
    now = datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    return step_run_send(step_run_id=step_run_id, now=now)


def step_run_send(*, step_run_id: int, now: datetime) -> str:
    message = step_run_claim(step_run_id=step_run_id, now=now)
    if message is None:
        return "nothing to send"
    account = Account.objects.get(dunning_steps__pk=step_run_id)
    try:
        delivery = provider_for(account=account, channel=message.channel).send(message)
    except ChannelError as exc:
        logger.warning("dunning step %s via %s failed: %s", step_run_id, message.channel, exc.reason)
        step_run_finish(step_run_id=step_run_id, now=now, error=channel_error_text(account=account, error=exc),
                        temporary=exc.temporary)
        return "retrying" if exc.temporary else "failed"
    step_run_finish(step_run_id=step_run_id, now=now, delivery=delivery)
    return "sent"


def dunning_run_now(*, on_date=None, at=None) -> list[str]:
    """Plan and send in this process, per account (as if it were `at` local on `on_date`): operators, the demo."""
    from datetime import time

    from billing.dunning.services import aware, dunning_account_plan

    lines = []
    for account in Account.objects.filter(is_active=True).order_by("pk"):
        now = aware(account, datetime.combine(on_date, at or time(18, 30))) if on_date else timezone.now()
        report = dunning_account_plan(account=account, now=now)
        outcomes = [step_run_send(step_run_id=step_run_id, now=now) for step_run_id in report.due_step_ids]
        lines.append(f"{account.slug}: lines {report.lines}, overdue recorded {report.overdue}, "
                     f"planned {report.planned}, skipped {report.skipped}, sent {outcomes.count('sent')}, "
                     f"failed {outcomes.count('failed')}, retrying {outcomes.count('retrying')}, "
                     f"stage moves {report.moved}, fees {report.fees}")
    return lines
