"""The amoCRM adapter behind the CRM port (crm.port): connection state, rate-limit pauses, delivery."""
from collections.abc import Sequence

from django.utils.translation import gettext

from crm.amocrm.client import AmoCrmClient
from crm.amocrm.delivery import CREATE_KINDS, deliver
from crm.amocrm.models import CrmConnection
from crm.amocrm.ratelimit import account_bucket
from crm.port import CrmUnavailable

KIND = "amocrm"
# A round never waits longer than this for the account's budget; its actions go back and wait instead.
BUDGET_WAIT_SECONDS = 30.0


class _Session:
    def __init__(self, client: AmoCrmClient) -> None:
        self.client = client

    def deliver(self, actions):
        return deliver(self.client, list(actions))


class AmoCrmAdapter:
    kind = KIND
    own_fields = False  # only the lead fields the admin mapped
    stage_ids = "number"  # a stage is its status id
    create_kinds = frozenset(CREATE_KINDS)

    def not_ready(self, account_id: int) -> str:
        connection = CrmConnection.objects.filter(account_id=account_id).first()
        if connection is None or not connection.is_connected:
            return "not connected"  # the actions wait for a (re-)installation
        if account_bucket().paused_for(str(account_id)) > BUDGET_WAIT_SECONDS:
            return "paused"
        return ""

    def options(self, account) -> dict:
        from crm.amocrm.options import crm_options_get

        return crm_options_get(account=account)

    def user_names(self, account) -> dict[int, str]:
        from crm.amocrm.options import crm_user_names

        return crm_user_names(account=account)

    def connection(self, account) -> dict:
        connection = CrmConnection.objects.filter(account=account).first()
        if connection is None:
            reason = gettext("PayPlan is not installed in this amoCRM account yet.")
            return {"status": "not_installed", "reason": reason}
        return {"status": connection.status, "reason": connection.status_reason}

    def session(self, account_id: int, *, max_wait: float = BUDGET_WAIT_SECONDS) -> _Session:
        connection = CrmConnection.objects.filter(account_id=account_id).first()
        if connection is None or not connection.is_connected:
            raise CrmUnavailable("not connected")
        return _Session(AmoCrmClient(connection, bucket=account_bucket(), max_wait=max_wait))

    def ready_account_ids(self, account_ids: Sequence[int]) -> list[int]:
        return sorted(CrmConnection.objects.filter(account_id__in=list(account_ids),
                                                   status=CrmConnection.Status.CONNECTED)
                      .values_list("account_id", flat=True))

    def completed_tasks_poll(self) -> int:
        from crm.amocrm.payout_tasks import payout_tasks_poll_all

        return sum(report.recorded for report in payout_tasks_poll_all().values())
