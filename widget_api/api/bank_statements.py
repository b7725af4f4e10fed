"""Bank statement and payment sheet import from the analytics page: upload a 1C statement or an Excel/CSV sheet of
payments, review the matches, confirm, skip or reverse (admins). Both land in one pipeline and one preview."""
from django.http import HttpResponse
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from billing.domain.bank_matching import contract_key
from billing.errors import NotFound
from billing.models import BankDocument, BankStatement, Deal
from billing.selectors.bank_statements import (
    bank_document_candidates,
    bank_document_get,
    bank_statement_documents,
    bank_statement_get,
)
from billing.services.bank_statements import (
    bank_document_confirm,
    bank_document_skip,
    bank_document_unconfirm,
    bank_statement_confirm_exact,
    bank_statement_upload,
    match_reason_text,
)
from billing.services.payment_sheets import payment_sheet_template, payment_sheet_upload, row_error_text
from widget_api.api.base import WidgetView
from widget_api.api.corrections import ReverseInput
from widget_api.api.schedule import IDEMPOTENCY_HEADER
from widget_api.auth import AdminRequired
from widget_api.idempotency import idempotent


def _deal_by_contract(account, contract: str) -> Deal:
    key = contract_key(contract)
    deals = [deal for deal in Deal.objects.filter(account=account).exclude(contract_number="")
             if contract_key(deal.contract_number) == key]
    if len(deals) != 1:  # none, or several: the lead ID has to say which
        raise NotFound("deal_not_found", str(gettext_lazy("Deal not found.")))
    return deals[0]


def _admin_only(request) -> None:
    if not request.user.is_admin:
        raise AdminRequired(gettext_lazy("Only a CRM administrator can import bank statements."))


_HTTP_NAMES = {"external_id": "lead_id", "bad_external_id": "bad_lead_id"}


def _lead_named(error: dict) -> dict:
    """Billing's CRM-neutral column and code names as the HTTP contract spells them (lead_id)."""
    return {key: _HTTP_NAMES.get(value, value) if key in ("column", "code") else value for key, value in error.items()}


class UploadInput(serializers.Serializer):
    file = serializers.FileField(error_messages={"required": gettext_lazy("Choose the statement file.")})


class SheetUploadInput(serializers.Serializer):
    file = serializers.FileField(error_messages={"required": gettext_lazy("Choose the file with the payments.")})


class ConfirmInput(serializers.Serializer):
    lead_id = serializers.IntegerField(required=False, min_value=1,
                                       help_text="The deal to credit; absent = the suggested one.")
    contract_number = serializers.CharField(required=False, allow_blank=True, max_length=64,
                                            help_text="Or the deal named by its contract number (18/2026 = "
                                                      "№ 18-2026); ignored when lead_id is given.")


class RowErrorOutput(serializers.Serializer):
    row = serializers.IntegerField()
    column = serializers.CharField(help_text="lead_id | contract_number | amount | paid_at | method | comment | ''")
    code = serializers.CharField()
    message = serializers.CharField(help_text="The row, the column and what is wrong, in the user's language")


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
    row = serializers.IntegerField(allow_null=True, help_text="A payment sheet's row; null for a bank statement")
    method = serializers.SerializerMethodField(help_text="The payment method confirming records")

    payment_lead_id = serializers.SerializerMethodField(help_text="The deal the confirmed payment went to")
    payment_deal_name = serializers.SerializerMethodField()

    def get_method(self, document: BankDocument) -> str:
        return document.method or "bank_transfer"

    def get_payment_lead_id(self, document: BankDocument) -> int | None:
        return document.payment.deal.external_id if document.payment else None

    def get_payment_deal_name(self, document: BankDocument) -> str:
        return (document.payment.deal.name or document.payment.deal.contact_name) if document.payment else ""

    def get_exact(self, document: BankDocument) -> bool:
        return document.confidence >= 90 and document.suggested_deal_id is not None

    def get_reason(self, document: BankDocument) -> str:
        return match_reason_text(document.match_reasons)

    def get_suggested_lead_id(self, document: BankDocument) -> int | None:
        return document.suggested_deal.external_id if document.suggested_deal else None

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
    source = serializers.CharField(help_text="1c | xlsx | csv")
    row_errors = RowErrorOutput(many=True, help_text="Sheet rows left out, each naming its row and column")
    documents = BankDocumentOutput(many=True)


class ConfirmFailureOutput(serializers.Serializer):
    id = serializers.IntegerField()
    row = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()


class StatementConfirmOutput(BankStatementOutput):
    confirmed = serializers.IntegerField(help_text="Documents confirmed by this call (0 when repeated)")
    failed = ConfirmFailureOutput(many=True)


def _statement_data(statement: BankStatement) -> dict:
    data = {field: getattr(statement, field) for field in (
        "id", "file_name", "bank_account", "encoding", "date_from", "date_to", "documents_total", "documents_new",
        "warnings", "source")}
    data["row_errors"] = [_lead_named({**error, "message": row_error_text(error)}) for error in statement.row_errors]
    data["documents"] = bank_statement_documents(statement=statement)
    return data


def _statement_answer(statement: BankStatement, status: int = 200) -> Response:
    return Response(BankStatementOutput(_statement_data(statement)).data, status=status)


def _upload_answer(view: WidgetView, request, input_class, upload):
    """Both imports (a 1C statement, an Excel/CSV sheet): admins only, one file in, its preview out (201)."""
    _admin_only(request)
    serializer = input_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    file = serializer.validated_data["file"]
    statement = upload(account=view.account, data=file.read(), file_name=file.name or "", uploaded_by=view.amo_user_id)
    return _statement_answer(statement, status=201)


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
        return _upload_answer(self, request, UploadInput, bank_statement_upload)


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
        contract = (serializer.validated_data.get("contract_number") or "").strip()
        if lead_id is not None:
            deal = Deal.objects.filter(account=self.account, external_id=lead_id).first()
            if deal is None:
                raise NotFound("deal_not_found", str(gettext_lazy("Deal not found.")))
        elif contract:
            deal = _deal_by_contract(self.account, contract)
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


class PaymentSheetUploadView(WidgetView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="payment_sheet_upload", request={"multipart/form-data": SheetUploadInput},
        summary="Upload payments from an Excel (.xlsx) or CSV sheet made from the template (admins)",
        description="Columns (Russian or English headers, as in the template): lead ID or contract number, amount, "
                    "payment date, method (bank transfer if empty), comment. A problem of the file (not a sheet, "
                    "formulas, merged cells, a required column missing) refuses it, nothing recorded; a row's "
                    "problem leaves that row out, listed in row_errors with its row and column. The valid rows "
                    "are documents of the preview, confirmed like a statement's. The same payments uploaded again "
                    "return the first upload. Error codes: 403 admin_required; 422 validation_error (no file), "
                    "bad_sheet (message names the row and column), file_too_large.",
        responses={201: BankStatementOutput})
    def post(self, request):
        return _upload_answer(self, request, SheetUploadInput, payment_sheet_upload)


class PaymentSheetTemplateView(WidgetView):
    kind = "xlsx"
    CONTENT_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     "csv": "text/csv; charset=utf-8"}

    @extend_schema(operation_id="payment_sheet_template_xlsx", summary="The payment sheet template (xlsx)",
                   description="Headers in the request's language, one example row, a note on each column.",
                   responses={(200, CONTENT_TYPES["xlsx"]): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request):
        content, filename = payment_sheet_template(kind=self.kind)
        response = HttpResponse(content, content_type=self.CONTENT_TYPES[self.kind])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class PaymentSheetCsvTemplateView(PaymentSheetTemplateView):
    kind = "csv"

    @extend_schema(operation_id="payment_sheet_template_csv", summary="The payment sheet template as CSV",
                   description="UTF-8 with a BOM, semicolons, CRLF (as Russian Excel opens it); headers in the "
                               "request's language, one example row.",
                   responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request):
        return super().get(request)


class BankStatementConfirmView(WidgetView):
    @extend_schema(
        operation_id="bank_statement_confirm", request=None, parameters=[IDEMPOTENCY_HEADER],
        summary="Confirm every open exact match of a statement or sheet as payments (admins)",
        description="Exact = confidence 90+ with a deal (every sheet row naming its deal, unless it looks like a "
                    "payment already recorded or exceeds the debt). Each document is its own transaction; a refused "
                    "one is listed in failed and the others go on. Repeating it confirms nothing more. Error codes: "
                    "403 admin_required; 404 bank_statement_not_found.",
        responses={200: StatementConfirmOutput})
    def post(self, request, statement_id: int):
        _admin_only(request)
        return idempotent(request, account=self.account, handler=lambda: self._confirm(statement_id))

    def _confirm(self, statement_id: int) -> Response:
        statement = bank_statement_get(account=self.account, statement_id=statement_id)
        confirmed, failed = bank_statement_confirm_exact(statement=statement, confirmed_by=self.amo_user_id)
        data = _statement_data(bank_statement_get(account=self.account, statement_id=statement_id))
        data["confirmed"] = len(confirmed)
        data["failed"] = [{"id": document.pk, "row": document.row, "message": message} for document, message in failed]
        return Response(StatementConfirmOutput(data).data)


class BankDocumentReverseView(WidgetView):
    @extend_schema(
        operation_id="bank_document_reverse", request=ReverseInput, parameters=[IDEMPOTENCY_HEADER],
        summary="Storno a wrongly confirmed statement/sheet payment; the document is open again (admins)",
        description="The payment gets a storno (a negative entry with the reason, as on the card); the document "
                    "loses its suggestion and waits for the right deal. Error codes: 403 admin_required; 404 "
                    "bank_document_not_found; 409 bank_document_not_confirmed; 422 validation_error, "
                    "reason_required, already_reversed.",
        responses={200: BankDocumentOutput})
    def post(self, request, document_id: int):
        _admin_only(request)
        return idempotent(request, account=self.account, handler=lambda: self._reverse(request, document_id))

    def _reverse(self, request, document_id: int) -> Response:
        serializer = ReverseInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        document = bank_document_get(account=self.account, document_id=document_id)
        bank_document_unconfirm(document=document, reason=serializer.validated_data["reason"],
                                decided_by=self.amo_user_id)
        return Response(BankDocumentOutput(bank_document_get(account=self.account, document_id=document_id)).data)


class CandidatesInput(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100,
                              help_text="Client name, INN, contract number or lead ID; empty = all with a debt")


class CandidateOutput(serializers.Serializer):
    lead_id = serializers.IntegerField(source="external_id")
    name = serializers.CharField()
    contract_number = serializers.CharField()
    client_inn = serializers.CharField()
    debt = serializers.DecimalField(max_digits=14, decimal_places=2)
    amount_equal = serializers.BooleanField(help_text="An open instalment is exactly the document's amount")


class CandidatesOutput(serializers.Serializer):
    candidates = CandidateOutput(many=True)


class BankDocumentCandidatesView(WidgetView):
    @extend_schema(operation_id="bank_document_candidates", parameters=[CandidatesInput],
                   summary="Deals to pick by hand for a statement/sheet document (search by client, INN, contract)",
                   description="Live incoming deals of the caller's account with a debt, at most 20; those with an "
                               "open instalment of the document's amount first. Error codes: 404 "
                               "bank_document_not_found.", responses={200: CandidatesOutput})
    def get(self, request, document_id: int):
        serializer = CandidatesInput(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        document = bank_document_get(account=self.account, document_id=document_id)
        candidates = bank_document_candidates(document=document, query=serializer.validated_data.get("q", ""))
        return Response(CandidatesOutput({"candidates": candidates}).data)
