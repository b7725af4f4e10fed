"""What every widget endpoint shares: the caller's account and the deal it names."""
from rest_framework.views import APIView

from billing.models import Account, Deal
from billing.services import deal_get_or_create


class WidgetView(APIView):
    @property
    def account(self) -> Account:
        return self.request.user.account

    @property
    def amo_user_id(self) -> int:
        return self.request.user.user_id

    def deal(self, lead_id: int) -> Deal:
        return deal_get_or_create(account=self.account, lead_id=lead_id)
