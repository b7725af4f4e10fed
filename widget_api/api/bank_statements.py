"""Bank statement import from the analytics page: upload a 1C file, review the matches, confirm or skip (admins)."""
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from billing.errors import NotFound
from billing.models import BankDocument, BankStatement, Deal
from billing.selectors.bank_statements import bank_document_get, bank_statement_documents, bank_statement_get
from billing.services.bank_statements import (
    bank_document_confirm,
    bank_document_skip,
    bank_statement_upload,
    match_reason_text,
)
from widget_api.api.base import WidgetView
from widget_api.auth import AdminRequired


def _admin_only(request) -> None:
    if not request.user.is_admin:
        raise AdminRequired(gettext_lazy("Only an amoCRM administrator can import bank statements."))


class UploadInput(serializers.Serializer):
    file = serializers.FileField(error_messages={"required": gettext_lazy("Choose the statement file.")})


class ConfirmInput(serializers.Serializer):
    lead_id = serializers.IntegerField(required=False, min_value=1,
                                       help_text="The deal to credit; absent = the suggested one.")


class BankDocumentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    doc_date = serializers.DateField()
    credit_date = serializers.DateField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    payer_name = serializers.CharField()
    payer_inn = serializers.CharField()
    purpose = serializers.CharField()
    status = serializers.CharField()
    confidence = serializers.IntegerField()
    exact = serializers.SerializerMethodField()
    reason = serializers.SerializerMethodField()
    suggested_lead_id = serializers.SerializerMethodField()
    suggested_deal_name = serializers.SerializerMethodField()
    suggested_invoice_number = serializers.SerializerMethodField()
    payment_id = serializers.IntegerField(allow_null=True)

    def get_exact(self, document: BankDocument) -> bool:
        return document.confidence >= 90 and document.suggested_deal_id is not None

    def get_reason(self, document: BankDocument) -> str:
        return match_reason_text(document.match_reasons)

    def get_suggested_lead_id(self, document: BankDocument) -> int | None:
        return document.suggested_deal.lead_id if document.suggested_deal else None

    def get_suggested_deal_name(self, document: BankDocument) -> str:
        return (document.suggested_deal.name or document.suggested_deal.contact_name) if document.suggested_deal else ""

    def get_suggested_invoice_number(self, document: BankDocument) -> str:
        return document.suggested_invoice.number if document.suggested_invoice else ""


class BankStatementOutput(serializers.Serializer):
    id = serializers.IntegerField()
    file_name = serializers.CharField()
    bank_account = serializers.CharField()
    encoding = serializers.CharField()
    date_from = serializers.DateField(allow_null=True)
    date_to = serializers.DateField(allow_null=True)
    documents_total = serializers.IntegerField()
    documents_new = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField())
    documents = BankDocumentOutput(many=True)


def _statement_answer(statement: BankStatement, status: int = 200) -> Response:
    data = {field: getattr(statement, field) for field in (
        "id", "file_name", "bank_account", "encoding", "date_from", "date_to", "documents_total", "documents_new",
        "warnings")}
    data["documents"] = bank_statement_documents(statement=statement)
    return Response(BankStatementOutput(data).data, status=status)


class BankStatementUploadView(WidgetView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="bank_statement_upload", request={"multipart/form-data": UploadInput},
        summary="Upload a 1C bank statement (1CClientBankExchange, cp1251/cp866/UTF-8) (admins)",
        description="The whole file is checked first; any problem refuses it and nothing is recorded. Incoming "
                    "credits are recorded once per account (re-uploads add nothing) and matched to open "
                    "instalments. Error codes: 403 admin_required; 422 validation_error (no file), bad_statement "
                    "(message names the line), no_bank_account (settings lack the account), file_too_large.",
        responses={201: BankStatementOutput})
    def post(self, request):
        _admin_only(request)
        serializer = UploadInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        statement = bank_statement_upload(account=self.account, data=upload.read(), file_name=upload.name or "",
                                          uploaded_by=self.amo_user_id)
        return _statement_answer(statement, status=201)


class BankStatementView(WidgetView):
    @extend_schema(operation_id="bank_statement_get", summary="A statement's credits with match suggestions",
                   description="Error codes: 404 bank_statement_not_found.", responses={200: BankStatementOutput})
    def get(self, request, statement_id: int):
        return _statement_answer(bank_statement_get(account=self.account, statement_id=statement_id))


class BankDocumentConfirmView(WidgetView):
    @extend_schema(
        operation_id="bank_document_confirm", request=ConfirmInput,
        summary="Confirm a credit as a bank-transfer payment of the suggested or chosen deal (admins)",
        description="Error codes: 403 admin_required; 404 bank_document_not_found, deal_not_found (no suggestion "
                    "and no lead_id, or a lead of another account); 409 bank_document_decided; 422 deal_cancelled, "
                    "no_plan.", responses={201: BankDocumentOutput})
    def post(self, request, document_id: int):
        _admin_only(request)
        serializer = ConfirmInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        document = bank_document_get(account=self.account, document_id=document_id)
        deal = None
        lead_id = serializer.validated_data.get("lead_id")
        if lead_id is not None:
            deal = Deal.objects.filter(account=self.account, lead_id=lead_id).first()
            if deal is None:
                raise NotFound("deal_not_found", str(gettext_lazy("Deal not found.")))
        bank_document_confirm(document=document, deal=deal, confirmed_by=self.amo_user_id)
        return Response(BankDocumentOutput(bank_document_get(account=self.account, document_id=document_id)).data,
                        status=201)


class BankDocumentSkipView(WidgetView):
    @extend_schema(operation_id="bank_document_skip", request=None, summary="Skip a credit: not a client payment",
                   description="Error codes: 403 admin_required; 404 bank_document_not_found; 409 "
                               "bank_document_decided.", responses={200: BankDocumentOutput})
    def post(self, request, document_id: int):
        _admin_only(request)
        document = bank_document_get(account=self.account, document_id=document_id)
        return Response(BankDocumentOutput(bank_document_skip(document=document, decided_by=self.amo_user_id)).data)
