"""The accountant's payout tasks completed in Bitrix24 ([E]'s payouts): PayPlan polls the tasks it created
itself (`tasks.task.list` filtered by ID, 50 per command, one batch per 2 500 open payouts) and records each
completed one through the same billing service amoCRM's completion calls (`payout_complete`, idempotent: a
task seen completed twice records nothing the second time). The task events (OnTaskUpdate) are not among
the bound ones (contract §6), so a poll like amoCRM's it is."""
import logging
from dataclasses import dataclass

from billing.models import Account
from billing.services.payouts import payout_complete, payouts_open_ids
from billing.time import account_today
from crm.bitrix24 import adapter
from crm.bitrix24.client import Bitrix24Client
from crm.bitrix24.errors import Bitrix24Error
from crm.bitrix24.models import Portal
from crm.models import CrmAction

logger = logging.getLogger(__name__)

PAYOUT_TASK_SOURCE = "payout_due"


@dataclass
class PollReport:
    checked: int = 0
    recorded: int = 0
    error: str = ""


def payout_tasks_poll(*, account: Account, client: Bitrix24Client | None = None) -> PollReport:
    """Look at the delivered tasks of the account's open payouts; record the completed ones."""
    report = PollReport()
    open_ids = payouts_open_ids(account=account)
    if not open_ids:
        return report
    tasks = dict(CrmAction.objects.filter(
        account=account, kind=CrmAction.Kind.CREATE_TASK, source=PAYOUT_TASK_SOURCE, state=CrmAction.State.DONE,
        crm_entity_id__isnull=False, payload__payout_id__in=open_ids,
    ).values_list("crm_entity_id", "payload__payout_id"))
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
        payout = payout_complete(account=account, payout_id=int(tasks[task_id]), completed_by=closed["closed_by"],
                                 paid_at=account_today(account))
        if payout.payment_id is not None:
            report.recorded += 1
    return report


def payout_tasks_poll_all() -> dict[int, PollReport]:
    """Every installed portal's account with open payouts (the beat task, through the CRM port)."""
    account_ids = Portal.objects.filter(status=Portal.Status.INSTALLED, account__isnull=False).values_list(
        "account_id", flat=True)
    return {account.pk: payout_tasks_poll(account=account)
            for account in Account.objects.filter(pk__in=list(account_ids), is_active=True).order_by("pk")}
