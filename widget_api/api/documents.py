"""Document endpoints of the widget: invoice and receipt PDFs, deal printouts, the account's templates."""
import json
from urllib.parse import quote

from django.http import HttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from billing.errors import ApplicationError, NotFound
from billing.selectors import deal_find
from documents.kinds import DEAL_KINDS, HELPERS, VARIABLES, Kind
from documents.selectors import requisites_missing, template_source_get
from documents.services import (
    DocumentFile,
    document_pdf_fetch,
    template_preview,
    template_reset,
    template_save,
)
from widget_api.api.base import WidgetView
from widget_api.auth import IsWidgetUser, WritesByAdmins

PDF = {(200, "application/pdf"): OpenApiTypes.BINARY}
QUEUED = {202: OpenApiResponse(description="Being rendered by a worker: ask again after Retry-After seconds")}


class PDFRenderer(BaseRenderer):
    """Lets a client send `Accept: application/pdf`; errors still leave as the contract's JSON body."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return json.dumps(data, ensure_ascii=False).encode()


def pdf_response(document: DocumentFile) -> HttpResponse:
    response = HttpResponse(document.content, content_type="application/pdf")
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(document.file_name)}"
    response["Cache-Control"] = "private, no-cache"
    return response


def fetched(document) -> HttpResponse | Response:
    if isinstance(document, DocumentFile):
        return pdf_response(document)
    response = Response({"status": "rendering", "retry_after": document.retry_after}, status=202)
    response["Retry-After"] = str(document.retry_after)
    return response


class DocumentView(WidgetView):
    renderer_classes = [JSONRenderer, PDFRenderer]


class InvoicePdfView(DocumentView):
    @extend_schema(operation_id="invoice_pdf", responses=PDF, summary="The invoice as a PDF (счёт на оплату)")
    def get(self, request, invoice_id: int):
        return fetched(document_pdf_fetch(account=self.account, kind=Kind.INVOICE, object_id=invoice_id))


class PaymentReceiptView(DocumentView):
    @extend_schema(operation_id="payment_receipt_pdf", responses=PDF,
                   summary="The payment's receipt as a PDF (подтверждение оплаты)")
    def get(self, request, payment_id: int):
        return fetched(document_pdf_fetch(account=self.account, kind=Kind.RECEIPT, object_id=payment_id))


def _kind(value: str, allowed=tuple(Kind)) -> Kind:
    if value not in {kind.value for kind in allowed}:
        raise NotFound("document_kind_not_found", gettext("There is no such document here."))
    return Kind(value)


class DealDocumentView(DocumentView):
    @extend_schema(operation_id="deal_document_pdf", responses={**PDF, **QUEUED},
                   summary="The deal's schedule printout, contract or commercial offer as a PDF; 202 while a "
                           "big one is rendered")
    def get(self, request, lead_id: int, kind: str):
        kind = _kind(kind, DEAL_KINDS)
        deal = deal_find(account=self.account, external_id=lead_id)
        if kind == Kind.SCHEDULE and not deal.schedules.filter(is_active=True).exists():
            raise ApplicationError("no_plan", gettext("The deal has no payment plan to print yet."))
        return fetched(document_pdf_fetch(account=self.account, kind=kind, object_id=deal.pk))


class TemplateOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    title = serializers.CharField()
    source = serializers.CharField()
    is_default = serializers.BooleanField()
    updated_at = serializers.DateTimeField(allow_null=True)
    updated_by = serializers.IntegerField(allow_null=True)
    variables = serializers.DictField(child=serializers.CharField(), help_text="What the template may read")
    helpers = serializers.DictField(child=serializers.CharField(), help_text="Filters and functions it may call")
    requisites_missing = serializers.ListField(child=serializers.CharField(),
                                               help_text="Requisite keys the account has not filled in")


def _template_body(view: WidgetView, kind: Kind) -> dict:
    template = template_source_get(account=view.account, kind=kind)
    return TemplateOutput({
        "kind": kind, "title": kind.label, "source": template.source, "is_default": template.is_default,
        "updated_at": template.updated_at, "updated_by": template.updated_by, "variables": VARIABLES[kind],
        "helpers": HELPERS, "requisites_missing": requisites_missing(view.account)}).data


class TemplateView(WidgetView):
    permission_classes = [IsWidgetUser, WritesByAdmins]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DocumentTemplateInput"

        source = serializers.CharField(max_length=200_000, trim_whitespace=False)

    @extend_schema(operation_id="document_template_get", responses={200: TemplateOutput},
                   summary="The account's template of a document kind (or the default), with its variables")
    def get(self, request, kind: str):
        return Response(_template_body(self, _kind(kind)))

    @extend_schema(operation_id="document_template_put", request=InputSerializer, responses={200: TemplateOutput},
                   summary="Replace the template (admins); a template that fails on sample data is a 422 "
                           "naming the line")
    def put(self, request, kind: str):
        kind = _kind(kind)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        template_save(account=self.account, kind=kind, source=serializer.validated_data["source"],
                      updated_by=self.amo_user_id)
        return Response(_template_body(self, kind))

    @extend_schema(operation_id="document_template_reset", responses={200: TemplateOutput},
                   summary="Go back to the default template (admins)")
    def delete(self, request, kind: str):
        kind = _kind(kind)
        template_reset(account=self.account, kind=kind)
        return Response(_template_body(self, kind))


class TemplatePreviewView(DocumentView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DocumentTemplatePreviewInput"

        source = serializers.CharField(max_length=200_000, trim_whitespace=False, required=False,
                                       help_text="A draft to preview; default: the saved template")

    @extend_schema(operation_id="document_template_preview", request=InputSerializer, responses=PDF,
                   summary="A PDF of the template (or a draft of it) filled with sample data")
    def post(self, request, kind: str):
        kind = _kind(kind)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rendered = template_preview(account=self.account, kind=kind, source=serializer.validated_data.get("source"))
        return pdf_response(DocumentFile(rendered.content, f"{kind.value}-preview.pdf", kind.label))
