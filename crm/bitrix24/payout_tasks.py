"""The accountant's payout tasks completed in Bitrix24 ([E]'s payouts): PayPlan polls the tasks it created
itself (`tasks.task.list` filtered by ID, 50 per command, one batch per 2 500 open payouts) and records each
completed one through the same billing service amoCRM's completion calls (`payout_complete`, idempotent: a
task seen completed twice records nothing the second time). The task events (OnTaskUpdate) are not among
the bound ones (contract §6), so a poll like amoCRM's it is."""
import logging

from billing.models import Account
from crm.bitrix24 import adapter
from crm.bitrix24.client import Bitrix24Client
from crm.bitrix24.errors import Bitrix24Error
from crm.bitrix24.models import Portal
from crm.payout_tasks import PollReport, payout_task_completed, payout_tasks_open

logger = logging.getLogger(__name__)


def payout_tasks_poll(*, account: Account, client: Bitrix24Client | None = None) -> PollReport:
    """Look at the delivered tasks of the account's open payouts; act on the completed ones (crm.payout_tasks)."""
    report = PollReport()
    tasks = payout_tasks_open(account=account)
    if not tasks:
        return report
    try:
        if client is None:
            portal = Portal.objects.get(account=account, status=Portal.Status.INSTALLED)
            client = Bitrix24Client(portal)
        completed = adapter.tasks_completed(client, sorted(tasks))
        report.checked = len(tasks)
    except (Bitrix24Error, Portal.DoesNotExist) as exc:
        logger.info("account %s: Bitrix24 payout tasks not readable now (%s); the next poll tries again",
                    account.pk, exc)
        report.error = str(exc)
        return report
    for task_id, closed in sorted(completed.items()):
        if task_id not in tasks:
            continue
        payout_id, source = tasks[task_id]
        report.recorded += payout_task_completed(account=account, payout_id=payout_id, source=source,
                                                 completed_by=closed["closed_by"])
    return report


def payout_tasks_poll_all() -> dict[int, PollReport]:
    """Every installed portal's account with open payouts (the beat task, through the CRM port)."""
    account_ids = Portal.objects.filter(status=Portal.Status.INSTALLED, account__isnull=False).values_list(
        "account_id", flat=True)
    return {account.pk: payout_tasks_poll(account=account)
            for account in Account.objects.filter(pk__in=list(account_ids), is_active=True).order_by("pk")}
