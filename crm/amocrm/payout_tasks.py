"""Finding the accountant's completed payout tasks in amoCRM, so billing records each payout once.

amoCRM's documented webhooks carry no task-completion event we can rely on (contracts/amocrm.md §4.6, §6:
only `add_task` is confirmed), so PayPlan polls the tasks it created itself: one filtered
`GET /api/v4/tasks?filter[id][]=...` per 250 open payouts of an account, paced by the account's shared
rate-limit bucket like every other call. A payout is recorded by `billing.services.payouts.payout_complete`,
which is idempotent: a task seen completed twice records nothing the second time.
"""
import logging

from billing.models import Account
from crm.amocrm.client import PAGE_LIMIT, AmoCrmClient
from crm.amocrm.errors import CrmError
from crm.amocrm.models import CrmConnection
from crm.payout_tasks import PollReport, payout_task_completed, payout_tasks_open

logger = logging.getLogger(__name__)


def payout_tasks_poll(*, account: Account, client: AmoCrmClient | None = None) -> PollReport:
    """Look at the delivered tasks of the account's open payouts; act on the completed ones (crm.payout_tasks)."""
    report = PollReport()
    tasks = payout_tasks_open(account=account)
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
                report.recorded += payout_task_completed(account=account, payout_id=payout_id, source=source,
                                                         completed_by=row.get("updated_by") or None)
    except CrmError as exc:
        logger.info("account %s: payout tasks not readable now (%s); the next poll tries again", account.pk,
                    exc.message)
        report.error = exc.message
    return report


def payout_tasks_poll_all() -> dict[int, PollReport]:
    """Every connected account with open payouts (the beat task)."""
    account_ids = CrmConnection.objects.filter(status=CrmConnection.Status.CONNECTED).values_list(
        "account_id", flat=True)
    return {account.pk: payout_tasks_poll(account=account)
            for account in Account.objects.filter(pk__in=list(account_ids), is_active=True).order_by("pk")}
