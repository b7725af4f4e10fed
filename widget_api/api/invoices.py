"""Invoice endpoints of a deal: issue now (or get the live one), and the history."""
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.errors import ApplicationError
from billing.selectors import deal_state_get
from billing.selectors.invoices import installment_for_invoice
from billing.services.invoicing import invoice_issue
from widget_api.api.base import WidgetView
from widget_api.api.outputs import InvoiceOutput
from widget_api.api.schedule import IDEMPOTENCY_HEADER
from widget_api.idempotency import idempotent


class InvoiceIssueInput(serializers.Serializer):
    installment_seq = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=10_000)


class DealInvoicesView(WidgetView):
    @extend_schema(operation_id="invoice_list", responses={200: InvoiceOutput(many=True)},
                   summary="The deal's invoice history")
    def get(self, request, lead_id: int):
        return Response(InvoiceOutput(deal_state_get(deal=self.deal(lead_id)).invoices, many=True).data)

    @extend_schema(operation_id="invoice_issue", request=InvoiceIssueInput,
                   responses={200: InvoiceOutput, 201: InvoiceOutput}, parameters=[IDEMPOTENCY_HEADER],
                   summary="Issue an invoice now (default: the next unpaid line); never two live ones")
    def post(self, request, lead_id: int):
        return idempotent(request, account=self.account, handler=lambda: self._issue(request, lead_id))

    def _issue(self, request, lead_id: int) -> Response:
        serializer = InvoiceIssueInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        deal = self.deal(lead_id)
        installment = installment_for_invoice(deal=deal, seq=serializer.validated_data.get("installment_seq"))
        if installment is None:
            raise ApplicationError("nothing_to_invoice", gettext("The deal has no unpaid payment to invoice."),
                                   {"installment_seq": [gettext("No unpaid payment.")]})
        issued = invoice_issue(installment_id=installment.pk)
        row = next(row for row in deal_state_get(deal=deal).invoices if row.id == issued.invoice.pk)
        return Response(InvoiceOutput(row).data, status=201 if issued.created else 200)
