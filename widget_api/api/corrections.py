"""Corrections from the card: a storno of a mistaken offline payment, a refund of an online one (admins)."""
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.errors import NotFound
from billing.models import Payment
from billing.selectors import deal_state_get
from billing.services.corrections import payment_refund, payment_reverse
from widget_api.api.base import WidgetView
from widget_api.api.fields import PositiveMoneyField
from widget_api.api.outputs import DealOutput
from widget_api.api.schedule import IDEMPOTENCY_HEADER
from widget_api.auth import AdminRequired
from widget_api.idempotency import idempotent


class ReverseInput(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, error_messages={
        "required": gettext_lazy("Say why the payment is reversed."),
        "blank": gettext_lazy("Say why the payment is reversed.")})


class RefundInput(serializers.Serializer):
    amount = PositiveMoneyField()
    reason = serializers.CharField(max_length=1000, error_messages={
        "required": gettext_lazy("Say why the money is refunded."),
        "blank": gettext_lazy("Say why the money is refunded.")})


class PaymentCorrectionView(WidgetView):
    def payment(self, payment_id: int) -> Payment:
        payment = Payment.objects.filter(account=self.account, pk=payment_id).select_related("deal").first()
        if payment is None:  # another account's payment is as unknown as a missing one
            raise NotFound("payment_not_found", str(gettext_lazy("Payment not found.")))
        return payment

    def answer(self, payment: Payment) -> Response:
        return Response(DealOutput(deal_state_get(deal=payment.deal)).data, status=201)


class PaymentReverseView(PaymentCorrectionView):
    @extend_schema(
        operation_id="payment_reverse", request=ReverseInput, parameters=[IDEMPOTENCY_HEADER],
        summary="Storno: reverse a mistaken offline payment with a reason (a new negative entry)",
        description="Error codes: 404 payment_not_found; 422 validation_error (reason missing), reason_required, "
                    "already_reversed, not_reversible (an online payment: refund it), not_correctable (a storno "
                    "or refund itself). Answers the deal's state.",
        responses={201: DealOutput})
    def post(self, request, payment_id: int):
        return idempotent(request, account=self.account, handler=lambda: self._reverse(request, payment_id))

    def _reverse(self, request, payment_id: int) -> Response:
        serializer = ReverseInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = self.payment(payment_id)
        payment_reverse(payment=payment, reason=serializer.validated_data["reason"], reversed_by=self.amo_user_id)
        return self.answer(payment)


class PaymentRefundView(PaymentCorrectionView):
    @extend_schema(
        operation_id="payment_refund", request=RefundInput,
        summary="Refund an online payment to the card, in full or in part (admins)", parameters=[IDEMPOTENCY_HEADER],
        description="Calls CloudPayments payments/refund; the negative payment is recorded once, whether the "
                    "gateway's answer or its Refund notification comes first. Error codes: 403 admin_required; "
                    "404 payment_not_found; 409 refund_in_progress (the same Idempotency-Key is being sent), "
                    "idempotency_key_reused; 422 validation_error, reason_required, refund_exceeds_payment (more "
                    "than the refundable remainder), not_refundable (an offline payment: reverse it), "
                    "refund_rejected (by CloudPayments); 503 gateway_unavailable (outcome unknown).",
        responses={201: DealOutput})
    def post(self, request, payment_id: int):
        if not request.user.is_admin:
            raise AdminRequired(gettext_lazy("Only a CRM administrator can refund money."))
        # Not `idempotent()`: its record would hold a transaction open across the gateway call. The refund
        # request row keeps the Idempotency-Key instead, so a repeated click is answered, never sent twice.
        serializer = RefundInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = self.payment(payment_id)
        payment_refund(payment=payment, amount=serializer.validated_data["amount"],
                       reason=serializer.validated_data["reason"], requested_by=self.amo_user_id,
                       idempotency_key=request.headers.get("Idempotency-Key", "").strip()[:255] or None)
        return self.answer(payment)
