"""Widget API routes (/api/v1/...)."""
from django.urls import path, register_converter

from widget_api.api.account import AccountSettingsView, CloudPaymentsTestView, CrmOptionsView
from widget_api.api.analytics import (
    AnalyticsCollectionView,
    AnalyticsCounterpartiesView,
    AnalyticsExportView,
    AnalyticsFiltersView,
    AnalyticsForecastView,
    AnalyticsProgressView,
    AnalyticsRowsView,
    AnalyticsSummaryView,
)
from widget_api.api.bank_statements import (
    BankDocumentCandidatesView,
    BankDocumentConfirmView,
    BankDocumentReverseView,
    BankDocumentSkipView,
    BankStatementConfirmView,
    BankStatementUploadView,
    BankStatementView,
    PaymentSheetCsvTemplateView,
    PaymentSheetTemplateView,
    PaymentSheetUploadView,
)
from widget_api.api.client_page import (
    ClientPageRotateView,
    ClientPageView,
    EarlyPayoffPreviewView,
    EarlyPayoffView,
    ProposalCreateView,
)
from widget_api.api.corrections import PaymentRefundView, PaymentReverseView
from widget_api.api.deals import AutopayView, DealView, FullPaymentView, OfflinePaymentView, SubscriptionView
from widget_api.api.documents import (
    DealDocumentView,
    InvoicePdfView,
    PaymentReceiptView,
    TemplatePreviewView,
    TemplateView,
)
from widget_api.api.dunning import (
    CallOutcomeView,
    DealDunningView,
    DebtorsTodayView,
    DecisionView,
    DunningChannelsView,
    DunningSettingsView,
    PromiseView,
    RemindNowView,
    WaiveFeeView,
)
from widget_api.api.invoices import DealInvoicesView
from widget_api.api.payouts import PayoutApproveView, PayoutDestinationView, PayoutsView
from widget_api.api.schedule import SchedulePreviewView, ScheduleView
from widget_api.converters import BigIdConverter

register_converter(BigIdConverter, "bigid")

urlpatterns = [
    path("analytics/summary", AnalyticsSummaryView.as_view(), name="analytics-summary"),
    path("analytics/rows", AnalyticsRowsView.as_view(), name="analytics-rows"),
    path("analytics/export.xlsx", AnalyticsExportView.as_view(), name="analytics-export"),
    path("analytics/filters", AnalyticsFiltersView.as_view(), name="analytics-filters"),
    path("analytics/counterparties", AnalyticsCounterpartiesView.as_view(), name="analytics-counterparties"),
    path("analytics/forecast", AnalyticsForecastView.as_view(), name="analytics-forecast"),
    path("analytics/collection-rate", AnalyticsCollectionView.as_view(), name="analytics-collection-rate"),
    path("analytics/plan-progress", AnalyticsProgressView.as_view(), name="analytics-plan-progress"),
    path("analytics/debtors-today", DebtorsTodayView.as_view(), name="analytics-debtors-today"),
    path("deals/<bigid:lead_id>", DealView.as_view(), name="deal"),
    path("deals/<bigid:lead_id>/dunning", DealDunningView.as_view(), name="deal-dunning"),
    path("deals/<bigid:lead_id>/dunning/promise", PromiseView.as_view(), name="deal-dunning-promise"),
    path("deals/<bigid:lead_id>/dunning/call-outcome", CallOutcomeView.as_view(), name="deal-dunning-call-outcome"),
    path("deals/<bigid:lead_id>/dunning/remind-now", RemindNowView.as_view(), name="deal-dunning-remind-now"),
    path("deals/<bigid:lead_id>/dunning/decision", DecisionView.as_view(), name="deal-dunning-decision"),
    path("deals/<bigid:lead_id>/dunning/waive-fee", WaiveFeeView.as_view(), name="deal-dunning-waive-fee"),
    path("deals/<bigid:lead_id>/schedule/preview", SchedulePreviewView.as_view(), name="schedule-preview"),
    path("deals/<bigid:lead_id>/schedule", ScheduleView.as_view(), name="schedule"),
    path("deals/<bigid:lead_id>/schedule/proposals", ProposalCreateView.as_view(), name="schedule-proposals"),
    path("deals/<bigid:lead_id>/client-page", ClientPageView.as_view(), name="client-page-link"),
    path("deals/<bigid:lead_id>/client-page/rotate", ClientPageRotateView.as_view(), name="client-page-rotate"),
    path("deals/<bigid:lead_id>/early-payoff/preview", EarlyPayoffPreviewView.as_view(), name="early-payoff-preview"),
    path("deals/<bigid:lead_id>/early-payoff", EarlyPayoffView.as_view(), name="early-payoff"),
    path("deals/<bigid:lead_id>/payments", OfflinePaymentView.as_view(), name="payments"),
    path("deals/<bigid:lead_id>/full-payment", FullPaymentView.as_view(), name="full-payment"),
    path("deals/<bigid:lead_id>/autopay", AutopayView.as_view(), name="deal-autopay"),
    path("deals/<bigid:lead_id>/payouts", PayoutsView.as_view(), name="deal-payouts"),
    path("deals/<bigid:lead_id>/payout-destination", PayoutDestinationView.as_view(),
         name="deal-payout-destination"),
    path("deals/<bigid:lead_id>/payouts/<int:payout_id>/approve", PayoutApproveView.as_view(),
         name="deal-payout-approve"),
    path("deals/<bigid:lead_id>/subscription", SubscriptionView.as_view(), name="subscription"),
    path("deals/<bigid:lead_id>/invoices", DealInvoicesView.as_view(), name="deal-invoices"),
    path("account/settings", AccountSettingsView.as_view(), name="account-settings"),
    path("account/cloudpayments/test", CloudPaymentsTestView.as_view(), name="account-cloudpayments-test"),
    path("account/dunning", DunningSettingsView.as_view(), name="account-dunning"),
    path("account/dunning/channels", DunningChannelsView.as_view(), name="account-dunning-channels"),
    path("account/crm-options", CrmOptionsView.as_view(), name="account-crm-options"),
    path("invoices/<bigid:invoice_id>/pdf", InvoicePdfView.as_view(), name="invoice-pdf"),
    path("bank-statements", BankStatementUploadView.as_view(), name="bank-statements"),
    path("bank-statements/<bigid:statement_id>", BankStatementView.as_view(), name="bank-statement"),
    path("bank-documents/<bigid:document_id>/confirm", BankDocumentConfirmView.as_view(), name="bank-document-confirm"),
    path("bank-documents/<bigid:document_id>/skip", BankDocumentSkipView.as_view(), name="bank-document-skip"),
    path("bank-documents/<bigid:document_id>/candidates", BankDocumentCandidatesView.as_view(),
         name="bank-document-candidates"),
    path("bank-documents/<bigid:document_id>/reverse", BankDocumentReverseView.as_view(),
         name="bank-document-reverse"),
    path("bank-statements/<bigid:statement_id>/confirm", BankStatementConfirmView.as_view(),
         name="bank-statement-confirm"),
    path("payment-imports", PaymentSheetUploadView.as_view(), name="payment-imports"),
    path("payment-imports/template.xlsx", PaymentSheetTemplateView.as_view(),
         name="payment-import-template-xlsx"),
    path("payment-imports/template.csv", PaymentSheetCsvTemplateView.as_view(),
         name="payment-import-template-csv"),
    path("payments/<bigid:payment_id>/reverse", PaymentReverseView.as_view(), name="payment-reverse"),
    path("payments/<bigid:payment_id>/refund", PaymentRefundView.as_view(), name="payment-refund"),
    path("payments/<bigid:payment_id>/receipt.pdf", PaymentReceiptView.as_view(), name="payment-receipt-pdf"),
    path("deals/<bigid:lead_id>/documents/<str:kind>.pdf", DealDocumentView.as_view(), name="deal-document-pdf"),
    path("account/templates/<str:kind>", TemplateView.as_view(), name="document-template"),
    path("account/templates/<str:kind>/preview", TemplatePreviewView.as_view(), name="document-template-preview"),
]
