"""Finding the accountant's completed payout tasks in amoCRM, so billing records each payout once.

amoCRM's documented webhooks carry no task-completion event we can rely on (contracts/amocrm.md §4.6, §6:
only `add_task` is confirmed), so PayPlan polls the tasks it created itself: one filtered
`GET /api/v4/tasks?filter[id][]=...` per 250 open payouts of an account, paced by the account's shared
rate-limit bucket like every other call. A payout is recorded by `billing.services.payouts.payout_complete`,
which is idempotent: a task seen completed twice records nothing the second time.
"""
import logging
from dataclasses import dataclass

from billing.errors import ApplicationError
from billing.events import PAYOUT_FAILED
from billing.models import Account, Payout
from billing.services.payouts import payout_complete, payouts_open_ids
from billing.services.payouts_auto import payout_send
from billing.time import account_today
from crm.amocrm.client import PAGE_LIMIT, AmoCrmClient
from crm.amocrm.errors import CrmError
from crm.amocrm.models import CrmConnection
from crm.models import CrmAction

logger = logging.getLogger(__name__)

PAYOUT_TASK_SOURCE = "payout_due"


@dataclass
class PollReport:
    checked: int = 0
    recorded: int = 0
    error: str = ""


def payout_tasks_poll(*, account: Account, client: AmoCrmClient | None = None) -> PollReport:
    """Look at the delivered tasks of the account's open payouts; record the completed ones."""
    report = PollReport()
    open_ids = payouts_open_ids(account=account)
    if not open_ids:
        return report
    # The payout's task, and the task of a failed automatic payout ([K]: completing it = paid by hand).
    tasks = {task_id: (payout_id, source) for task_id, payout_id, source in CrmAction.objects.filter(
        account=account, kind=CrmAction.Kind.CREATE_TASK, source__in=(PAYOUT_TASK_SOURCE, PAYOUT_FAILED),
        state=CrmAction.State.DONE, crm_entity_id__isnull=False, payload__payout_id__in=open_ids,
    ).values_list("crm_entity_id", "payload__payout_id", "source")}
    if not tasks:
        return report
    try:
        client = client or AmoCrmClient.for_account(account)
        task_ids = sorted(tasks)
        for start in range(0, len(task_ids), PAGE_LIMIT):
            chunk = task_ids[start:start + PAGE_LIMIT]
            answer = client.get("/api/v4/tasks", {"filter[id][]": chunk, "limit": PAGE_LIMIT}) or {}
            rows = (answer.get("_embedded") or {}).get("tasks") or []
            report.checked += len(chunk)
            for row in rows:
                task_id = int(row.get("id") or 0)
                if task_id not in tasks or not row.get("is_completed"):
                    continue
                payout_id, source = tasks[task_id]
                payout = payout_complete(account=account, payout_id=int(payout_id),
                                         completed_by=row.get("updated_by") or None, paid_at=account_today(account),
                                         task_source=source)
                if payout.payment_id is not None:
                    report.recorded += 1
                elif payout.approved_at is not None and payout.state == Payout.State.DUE and not payout.gateway_status:
                    _automatic_send(payout, account)
    except CrmError as exc:
        logger.info("account %s: payout tasks not readable now (%s); the next poll tries again", account.pk,
                    exc.message)
        report.error = exc.message
    return report


def _automatic_send(payout: Payout, account: Account) -> None:
    """Approved by the task just now: out through YooKassa at once (the tick would, later)."""
    try:
        payout_send(payout_id=payout.pk, today=account_today(account))
    except ApplicationError as exc:
        logger.info("payout %s approved but not sent: %s", payout.pk, exc.code)


def payout_tasks_poll_all() -> dict[int, PollReport]:
    """Every connected account with open payouts (the beat task)."""
    account_ids = CrmConnection.objects.filter(status=CrmConnection.Status.CONNECTED).values_list(
        "account_id", flat=True)
    return {account.pk: payout_tasks_poll(account=account)
            for account in Account.objects.filter(pk__in=list(account_ids), is_active=True).order_by("pk")}
