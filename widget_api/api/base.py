"""What every widget endpoint shares: the caller's account and the deal it names."""
from django.utils.translation import gettext as _
from rest_framework.views import APIView

from billing.errors import ApplicationError
from billing.models import Account, Deal
from billing.services import deal_get_or_create
from billing.services.deals import MAX_EXTERNAL_ID
from crm.outbox import crm_lead_fetch_ensure


class WidgetView(APIView):
    @property
    def account(self) -> Account:
        return self.request.user.account

    @property
    def amo_user_id(self) -> int:
        return self.request.user.user_id

    def deal(self, lead_id: int) -> Deal:
        """The account's deal for the widget's lead id (billing: the deal's external id in its CRM)."""
        if not 0 < lead_id < MAX_EXTERNAL_ID:
            raise ApplicationError("invalid_lead_id", _("Lead id must be a positive integer."),
                                   {"lead_id": [_("Must be a positive integer.")]}, status=404)
        deal = deal_get_or_create(account=self.account, external_id=lead_id)
        # A lead the widget opens for the first time gets its name and contact from amoCRM.
        crm_lead_fetch_ensure(deal=deal)
        return deal
