"""Deal endpoints: the card's state, offline partial payments, full payment."""
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.models import Payment
from billing.selectors import deal_state_get
from billing.selectors.autopay import autopay_state_get
from billing.selectors.deals import deal_state_etag
from billing.services import PaymentInput, payment_record, payment_record_full
from billing.services.autopay import autopay_disable
from billing.services.recurring import recurring_change
from billing.time import account_today
from widget_api.api.base import WidgetView
from widget_api.api.fields import BoundedDateField, PositiveMoneyField
from widget_api.api.outputs import AutopayOutput, DealOutput
from widget_api.api.schedule import IDEMPOTENCY_HEADER
from widget_api.idempotency import idempotent

OFFLINE_METHODS = [Payment.Method.CASH, Payment.Method.BANK_TRANSFER, Payment.Method.CARD_TERMINAL,
                   Payment.Method.OTHER]


ETAG_PARAMETER = OpenApiParameter(
    "If-None-Match", str, OpenApiParameter.HEADER, required=False,
    description="The ETag of the state the card shows: 304 with no body while nothing has changed")


def _etag_matches(header: str, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in tags or "*" in tags


class DealView(WidgetView):
    @extend_schema(operation_id="deal_get", parameters=[ETAG_PARAMETER],
                   responses={200: DealOutput, 304: OpenApiResponse(description="Not modified since the ETag")},
                   summary="The deal card's state (with an ETag: poll it cheaply)")
    def get(self, request, lead_id: int):
        deal = self.deal(lead_id)
        etag = deal_state_etag(deal=deal)
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if _etag_matches(request.headers.get("If-None-Match", ""), etag):
            return Response(status=304, headers=headers)
        return Response(DealOutput(deal_state_get(deal=deal)).data, headers=headers)


class OfflinePaymentInput(serializers.Serializer):
    amount = PositiveMoneyField()
    method = serializers.ChoiceField(choices=OFFLINE_METHODS)
    paid_at = BoundedDateField()
    comment = serializers.CharField(max_length=2000, allow_blank=True, default="")


class FullPaymentInput(serializers.Serializer):
    method = serializers.ChoiceField(choices=OFFLINE_METHODS)
    paid_at = BoundedDateField(required=False)
    comment = serializers.CharField(max_length=2000, allow_blank=True, default="")


def _payment_input(view: WidgetView, data: dict) -> PaymentInput:
    key = view.request.headers.get("Idempotency-Key", "").strip() or None
    return PaymentInput(method=data["method"], paid_at=data.get("paid_at") or account_today(view.account),
                        recorded_by=view.amo_user_id, comment=data["comment"], idempotency_key=key)


class SubscriptionChangeInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=["pause", "resume", "cancel", "price"])
    price = PositiveMoneyField(required=False, help_text="action=price: the new price, from the next period")
    reason = serializers.CharField(max_length=500, allow_blank=True, default="")

    def validate(self, attrs):
        if attrs["action"] == "price" and attrs.get("price") is None:
            raise serializers.ValidationError({"price": [_("The new price per period is required.")]})
        return attrs


class SubscriptionView(WidgetView):
    @extend_schema(operation_id="subscription_change", request=SubscriptionChangeInput, responses={200: DealOutput},
                   parameters=[IDEMPOTENCY_HEADER],
                   summary="Pause, resume, cancel or re-price an open-ended plan (a new schedule version with "
                           "the reason)")
    def post(self, request, lead_id: int):
        return idempotent(request, account=self.account, handler=lambda: self._change(request, lead_id))

    def _change(self, request, lead_id: int) -> Response:
        serializer = SubscriptionChangeInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        deal = self.deal(lead_id)
        recurring_change(deal=deal, action=data["action"], price=data.get("price"), reason=data["reason"],
                         changed_by=self.amo_user_id)
        deal.refresh_from_db()
        return Response(DealOutput(deal_state_get(deal=deal)).data)


class OfflinePaymentView(WidgetView):
    @extend_schema(operation_id="payment_record", request=OfflinePaymentInput, responses={201: DealOutput},
                   parameters=[IDEMPOTENCY_HEADER], summary="Record an offline (partial) payment")
    def post(self, request, lead_id: int):
        return idempotent(request, account=self.account, handler=lambda: self._record(request, lead_id))

    def _record(self, request, lead_id: int) -> Response:
        serializer = OfflinePaymentInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        deal = self.deal(lead_id)
        payment_record(deal=deal, amount=serializer.validated_data["amount"],
                       payment=_payment_input(self, serializer.validated_data))
        return Response(DealOutput(deal_state_get(deal=deal)).data, status=201)


class FullPaymentView(WidgetView):
    @extend_schema(operation_id="payment_record_full", request=FullPaymentInput, responses={201: DealOutput},
                   parameters=[IDEMPOTENCY_HEADER], summary="The client paid the whole remaining debt offline")
    def post(self, request, lead_id: int):
        return idempotent(request, account=self.account, handler=lambda: self._record(request, lead_id))

    def _record(self, request, lead_id: int) -> Response:
        serializer = FullPaymentInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        deal = self.deal(lead_id)
        payment_record_full(deal=deal, payment=_payment_input(self, serializer.validated_data))
        return Response(DealOutput(deal_state_get(deal=deal)).data, status=201)


class AutopayView(WidgetView):
    @extend_schema(operation_id="autopay_get", responses={200: AutopayOutput},
                   summary="Autopay of the deal: the saved card (last four digits, expiry) and its charges")
    def get(self, request, lead_id: int):
        return Response(AutopayOutput(autopay_state_get(deal=self.deal(lead_id))).data)

    @extend_schema(operation_id="autopay_disable", request=None, responses={200: AutopayOutput},
                   summary="Switch autopay off: the next lines go out as ordinary invoice links (safe to repeat)")
    def delete(self, request, lead_id: int):
        deal = self.deal(lead_id)
        autopay_disable(deal=deal, by=f"manager:{self.amo_user_id}")
        return Response(AutopayOutput(autopay_state_get(deal=deal)).data)
