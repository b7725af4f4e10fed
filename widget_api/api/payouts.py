"""Automatic payouts of an outgoing plan ([K]): the client's requisites, and the accountant's approval
(«Одобрить выплату»; after a failure «Повторить выплату»), which sends the payout through YooKassa."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from billing.models import Payout, PayoutDestination
from billing.selectors.payouts import payouts_state_get
from billing.services.payouts_auto import (
    DestinationInput,
    payout_approve_send,
    payout_destination_set,
)
from billing.time import account_today
from widget_api.api.base import WidgetView


class DestinationInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PayoutDestination.Kind.choices)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    bank_id = serializers.CharField(required=False, allow_blank=True, max_length=12, default="",
                                    help_text="SBP bank id (12 characters) from YooKassa's GET /sbp_banks")
    payout_token = serializers.CharField(required=False, allow_blank=True, max_length=255, default="",
                                         write_only=True, help_text="from YooKassa's payout widget; never a PAN")
    card_last4 = serializers.CharField(required=False, allow_blank=True, max_length=4, default="")
    account_number = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    auto = serializers.BooleanField(required=False, default=False,
                                    help_text="pay each approved payout through YooKassa on its date")


class DestinationOutput(serializers.Serializer):
    kind = serializers.CharField()
    phone = serializers.CharField(allow_blank=True)
    bank_id = serializers.CharField(allow_blank=True)
    card_last4 = serializers.CharField(allow_blank=True)
    payout_token_set = serializers.BooleanField()
    account_number = serializers.CharField(allow_blank=True)
    auto = serializers.BooleanField()


class PayoutRowOutput(serializers.Serializer):
    id = serializers.IntegerField()
    seq = serializers.IntegerField()
    due_date = serializers.DateField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    state = serializers.CharField(help_text="due | paid | closed")
    approved = serializers.BooleanField()
    approved_at = serializers.DateTimeField(allow_null=True)
    gateway_status = serializers.CharField(allow_blank=True, help_text="'' | sending | pending | succeeded | canceled")
    gateway_payout_id = serializers.CharField(allow_blank=True)
    failure = serializers.CharField(allow_blank=True, help_text="why YooKassa canceled it, in the user's language")
    can_approve = serializers.BooleanField()


class PayoutsOutput(serializers.Serializer):
    payouts_connected = serializers.BooleanField()
    destination = DestinationOutput(allow_null=True)
    payouts = PayoutRowOutput(many=True)


class PayoutsView(WidgetView):
    @extend_schema(operation_id="payouts_get", responses={200: PayoutsOutput},
                   summary="An outgoing plan's payouts, their approval and YooKassa state, and the requisites")
    def get(self, request, lead_id: int):
        return Response(PayoutsOutput(payouts_state_get(deal=self.deal(lead_id))).data)


class PayoutDestinationView(WidgetView):
    @extend_schema(operation_id="payout_destination_set", request=DestinationInputSerializer,
                   responses={200: PayoutsOutput},
                   summary="The client's requisites for automatic payouts (SBP, card token, wallet) and the switch")
    def put(self, request, lead_id: int):
        serializer = DestinationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        deal = self.deal(lead_id)
        payout_destination_set(deal=deal, data=DestinationInput(**serializer.validated_data))
        return Response(PayoutsOutput(payouts_state_get(deal=deal)).data)


class PayoutApproveView(WidgetView):
    @extend_schema(operation_id="payout_approve", request=None, responses={200: PayoutsOutput},
                   summary="The accountant approves a payout (or retries a failed one): it goes out through YooKassa")
    def post(self, request, lead_id: int, payout_id: int):
        deal = self.deal(lead_id)
        if not Payout.objects.filter(pk=payout_id, deal=deal).exists():
            raise NotFound()
        payout_approve_send(account=self.account, payout_id=payout_id, approved_by=self.amo_user_id,
                            today=account_today(self.account))
        return Response(PayoutsOutput(payouts_state_get(deal=deal)).data)
