"""What every widget endpoint shares: the caller's account and the deal it names."""
from rest_framework.views import APIView

from billing.models import Account, Deal
from billing.services import deal_get_or_create
from crm.outbox import crm_lead_fetch_ensure


class WidgetView(APIView):
    @property
    def account(self) -> Account:
        return self.request.user.account

    @property
    def amo_user_id(self) -> int:
        return self.request.user.user_id

    def deal(self, lead_id: int) -> Deal:
        deal = deal_get_or_create(account=self.account, lead_id=lead_id)
        # A lead the widget opens for the first time gets its name and contact from amoCRM.
        crm_lead_fetch_ensure(deal=deal)
        return deal
