"""The accountant's payout tasks, whichever CRM holds them ([E]; [K] automatic payouts).

PayPlan polls the tasks it created itself (neither CRM reliably reports a task's completion): an adapter only
answers which of the given task ids are completed, and by whom. What a completion means is decided here, once:
a payout task completed = the payout made by hand (`payout_complete`, idempotent: seen twice, recorded once);
on a deal paid out automatically it is the accountant's approval, and the approved payout goes out through
YooKassa at once (the tick would, later). A failed automatic payout's task completed = paid by hand.
"""
import logging
from dataclasses import dataclass

from billing.errors import ApplicationError
from billing.events import PAYOUT_DUE, PAYOUT_FAILED
from billing.models import Account, Payout
from billing.services.payouts import payout_complete, payouts_open_ids
from billing.services.payouts_auto import payout_send
from billing.time import account_today
from crm.models import CrmAction

logger = logging.getLogger(__name__)


@dataclass
class PollReport:
    checked: int = 0
    recorded: int = 0
    error: str = ""


def payout_tasks_open(*, account: Account) -> dict[int, tuple[int, str]]:
    """The CRM task ids of the account's open payouts: task id -> (payout id, the action's source: the
    event that made the task, payout_due or payout_failed)."""
    open_ids = payouts_open_ids(account=account)
    if not open_ids:
        return {}
    return {task_id: (int(payout_id), source) for task_id, payout_id, source in CrmAction.objects.filter(
        account=account, kind=CrmAction.Kind.CREATE_TASK, source__in=(PAYOUT_DUE, PAYOUT_FAILED),
        state=CrmAction.State.DONE, crm_entity_id__isnull=False, payload__payout_id__in=open_ids,
    ).values_list("crm_entity_id", "payload__payout_id", "source")}


def payout_task_completed(*, account: Account, payout_id: int, source: str, completed_by: int | None) -> bool:
    """A payout task the CRM says is completed; True when it recorded the payout."""
    payout = payout_complete(account=account, payout_id=payout_id, completed_by=completed_by,
                             paid_at=account_today(account), task_source=source)
    if payout.payment_id is not None:
        return True
    if payout.approved_at is not None and payout.state == Payout.State.DUE and not payout.gateway_status:
        try:
            payout_send(payout_id=payout.pk, today=account_today(account))
        except ApplicationError as exc:
            logger.info("payout %s approved but not sent: %s", payout.pk, exc.code)
    return False
