"""Analytics endpoints: totals, rows with paging, Excel export, filter values."""
import tempfile

from django.core.paginator import EmptyPage, Paginator
from django.http import FileResponse, HttpResponse
from django.utils.translation import get_language, gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.models import Direction
from billing.selectors.analytics import (
    GROUP_BY,
    MAX_DAYS,
    AnalyticsFilter,
    BadCursor,
    analytics_counterparties,
    analytics_cursor_check,
    analytics_filters,
    analytics_summary,
)
from billing.selectors.analytics_figures import (
    FORECAST_MONTHS,
    FORECAST_WEEKS,
    MAX_FORECAST_MONTHS,
    MAX_FORECAST_WEEKS,
    cash_in_forecast,
    collection_rate,
    plan_progress,
)
from billing.selectors.analytics_rows import (
    analytics_row_values,
    analytics_rows_from_values,
    analytics_rows_page,
    analytics_values_cursor,
)
from billing.time import account_today
from crm.port import crm_user_names
from widget_api.api.base import WidgetView
from widget_api.api.fields import BoundedDateField, MoneyField
from widget_api.exports import counterparties_sheet, rows_workbook_write

KINDS = ["received", "upcoming", "overdue"]
REPORT_KINDS = ["counterparties", "contracts"]  # export only: the counterparty report's sheet
EXPORT_ROW_LIMIT = 100_000


class FilterInput(serializers.Serializer):
    date_from = BoundedDateField(required=False)
    date_to = BoundedDateField(required=False)
    direction = serializers.ChoiceField(choices=Direction.values, default=Direction.INCOMING)
    group = serializers.CharField(required=False, max_length=255)
    education_direction = serializers.CharField(required=False, max_length=255)
    manager_id = serializers.IntegerField(required=False, min_value=1, max_value=2**62)

    def validate(self, attrs):
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start and end and start > end:
            raise serializers.ValidationError({"date_to": [gettext("Must not be before the start date.")]})
        if start and end and (end - start).days >= MAX_DAYS * 5:
            raise serializers.ValidationError({"date_to": [gettext("The range is limited to five years.")]})
        return attrs

    def to_filter(self) -> AnalyticsFilter:
        return AnalyticsFilter(**self.validated_data)


class RowsInput(FilterInput):
    kind = serializers.ChoiceField(choices=KINDS)
    page = serializers.IntegerField(default=1, min_value=1, max_value=1_000_000)
    page_size = serializers.IntegerField(default=50, min_value=1, max_value=500)
    cursor = serializers.CharField(required=False, max_length=200,
                                   help_text="keyset paging: the next_cursor of the previous page (then page is "
                                             "ignored and count/pages are null); deep pages cost as the first")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs.get("cursor"):
            try:
                analytics_cursor_check(kind=attrs["kind"], cursor=attrs["cursor"])
            except BadCursor:
                raise serializers.ValidationError({"cursor": [gettext("Not a cursor of these rows.")]}) from None
        return attrs

    def to_filter(self) -> AnalyticsFilter:
        data = {key: value for key, value in self.validated_data.items()
                if key not in ("kind", "page", "page_size", "cursor")}
        return AnalyticsFilter(**data)


class CounterpartiesInput(FilterInput):
    group_by = serializers.ChoiceField(choices=GROUP_BY, default="counterparty",
                                       help_text="counterparty: the deal's client or recipient; contract: each deal")

    def to_filter(self) -> AnalyticsFilter:
        return AnalyticsFilter(**{key: value for key, value in self.validated_data.items() if key != "group_by"})


class ExportInput(FilterInput):
    kind = serializers.ChoiceField(choices=KINDS + REPORT_KINDS, required=False,
                                   help_text="one sheet; without it the three row sheets. counterparties / "
                                             "contracts: the counterparty report grouped that way")
    lang = serializers.ChoiceField(choices=["ru", "en"], required=False,
                                   help_text="the widget's language; without it, the request's Accept-Language")

    def to_filter(self) -> AnalyticsFilter:
        return AnalyticsFilter(**{key: value for key, value in self.validated_data.items()
                                  if key not in ("kind", "lang")})


class TotalOutput(serializers.Serializer):
    amount = MoneyField()
    count = serializers.IntegerField()


class DayOutput(serializers.Serializer):
    date = serializers.DateField()
    received = MoneyField()
    due = MoneyField()


class AgingOutput(serializers.Serializer):
    bucket = serializers.CharField()
    amount = MoneyField()
    count = serializers.IntegerField()


class SummaryOutput(serializers.Serializer):
    currency = serializers.CharField()
    received = TotalOutput()
    upcoming = TotalOutput()
    overdue = TotalOutput()
    by_day = DayOutput(many=True)
    aging = AgingOutput(many=True)
    received_interest = MoneyField(help_text="of received: the interest of interest plans (a payment covers a "
                                             "line's interest first)")
    received_principal = MoneyField(help_text="of received: everything but interest; the two add up to received")


class RowOutput(serializers.Serializer):
    kind = serializers.CharField()
    lead_id = serializers.IntegerField(source="external_id")
    deal_name = serializers.CharField(allow_blank=True)
    client = serializers.CharField(allow_blank=True)
    group = serializers.CharField(allow_blank=True)
    education_direction = serializers.CharField(allow_blank=True)
    direction = serializers.CharField()
    date = serializers.DateField(help_text="payment date (received) or due date")
    due_date = serializers.DateField(source="date", help_text="same as date; the contract's name")
    seq = serializers.IntegerField(allow_null=True)
    amount = MoneyField()
    paid = MoneyField()
    remaining = MoneyField()
    days_overdue = serializers.IntegerField()
    manager_id = serializers.IntegerField(allow_null=True)
    method = serializers.CharField(allow_null=True)


class RowsPageOutput(serializers.Serializer):
    count = serializers.IntegerField(allow_null=True, help_text="null when paged by cursor")
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    pages = serializers.IntegerField(allow_null=True, help_text="null when paged by cursor")
    next_cursor = serializers.CharField(allow_null=True, help_text="pass as cursor for the next page; null: the "
                                                                   "last page")
    results = RowOutput(many=True)


class CounterpartyOutput(serializers.Serializer):
    key = serializers.CharField(allow_blank=True)
    counterparty = serializers.CharField(allow_blank=True, help_text="the client (incoming) or recipient (outgoing)")
    contract = serializers.CharField(allow_blank=True, help_text="group_by=contract: the contract number or deal")
    lead_id = serializers.IntegerField(source="external_id", allow_null=True,
                                       help_text="group_by=contract: the deal's lead")
    deals_count = serializers.IntegerField()
    total = MoneyField(help_text="what the active plans are worth")
    paid = MoneyField(help_text="paid in the date range (refunds subtract)")
    payments_count = serializers.IntegerField(help_text="payments made in the date range")
    remaining = MoneyField(help_text="remaining principal: the unpaid lines of the active plans")
    next_due_date = serializers.DateField(allow_null=True)


class CounterpartiesOutput(serializers.Serializer):
    currency = serializers.CharField()
    group_by = serializers.ChoiceField(choices=GROUP_BY)
    rows = CounterpartyOutput(many=True)
    totals = CounterpartyOutput()


class FiltersOutput(serializers.Serializer):
    groups = serializers.ListField(child=serializers.CharField())
    education_directions = serializers.ListField(child=serializers.CharField())
    managers = serializers.ListField(child=serializers.IntegerField())
    directions = serializers.ListField(child=serializers.CharField())


def _parsed(serializer_class, request):
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer


class AnalyticsSummaryView(WidgetView):
    @extend_schema(operation_id="analytics_summary", parameters=[FilterInput], responses={200: SummaryOutput},
                   summary="Received, upcoming and overdue totals, by day, with aging buckets")
    def get(self, request):
        flt = _parsed(FilterInput, request).to_filter()
        return Response(SummaryOutput(analytics_summary(account=self.account, flt=flt)).data)


class AnalyticsRowsView(WidgetView):
    @extend_schema(operation_id="analytics_rows", parameters=[RowsInput], responses={200: RowsPageOutput},
                   summary="The rows behind a total, paged")
    def get(self, request):
        serializer = _parsed(RowsInput, request)
        data = serializer.validated_data
        kind, size, today = data["kind"], data["page_size"], account_today(self.account)
        if data.get("cursor"):
            rows, next_cursor = analytics_rows_page(account=self.account, flt=serializer.to_filter(), kind=kind,
                                                    cursor=data["cursor"], size=size, today=today)
            return Response(RowsPageOutput({
                "count": None, "page": data["page"], "page_size": size, "pages": None, "next_cursor": next_cursor,
                "results": rows}).data)
        paginator = Paginator(analytics_row_values(account=self.account, flt=serializer.to_filter(), kind=kind,
                                                   today=today), size)
        next_cursor = None
        try:
            page = paginator.page(data["page"])
            values = list(page.object_list)
            if page.has_next() and values:
                next_cursor = analytics_values_cursor(kind=kind, values=values[-1])
        except EmptyPage:
            values = []
        return Response(RowsPageOutput({
            "count": paginator.count, "page": data["page"], "page_size": size, "pages": paginator.num_pages,
            "next_cursor": next_cursor, "results": list(analytics_rows_from_values(values, kind, today)),
        }).data)


class AnalyticsExportView(WidgetView):
    @extend_schema(operation_id="analytics_export", parameters=[ExportInput],
                   responses={(200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"):
                              OpenApiResponse(OpenApiTypes.BINARY)},
                   summary="The rows as an Excel workbook (one sheet per kind)")
    def get(self, request):
        serializer = _parsed(ExportInput, request)
        flt = serializer.to_filter()
        kind = serializer.validated_data.get("kind")
        today = account_today(self.account)
        language = serializer.validated_data.get("lang") or get_language() or "ru"
        if kind in REPORT_KINDS:
            report = analytics_counterparties(account=self.account, flt=flt,
                                              group_by="contract" if kind == "contracts" else "counterparty")
            workbook = counterparties_sheet(report, language=language)
        else:
            return self._rows_file(flt, [kind] if kind else KINDS, language, today)
        response = HttpResponse(workbook,
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = f'attachment; filename="payplan-{today.isoformat()}.xlsx"'
        return response

    def _rows_file(self, flt: AnalyticsFilter, kinds: list[str], language: str, today) -> FileResponse:
        """Up to EXPORT_ROW_LIMIT rows a sheet, read in chunks and written row by row to a temporary file
        that is then streamed: memory stays flat whatever the account's size."""
        def rows(kind: str):
            values = analytics_row_values(account=self.account, flt=flt, kind=kind, today=today)
            return analytics_rows_from_values(values[:EXPORT_ROW_LIMIT].iterator(chunk_size=2000), kind, today)

        sheets = {kind: rows(kind) for kind in kinds}
        target = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it once streamed
        rows_workbook_write(sheets, target, language=language, manager_names=crm_user_names(account=self.account))
        target.seek(0)
        return FileResponse(target, as_attachment=True, filename=f"payplan-{today.isoformat()}.xlsx",
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


class AnalyticsCounterpartiesView(WidgetView):
    @extend_schema(operation_id="analytics_counterparties", parameters=[CounterpartiesInput],
                   responses={200: CounterpartiesOutput},
                   summary="Per counterparty or per contract: paid, payments made, remaining principal")
    def get(self, request):
        serializer = _parsed(CounterpartiesInput, request)
        report = analytics_counterparties(account=self.account, flt=serializer.to_filter(),
                                          group_by=serializer.validated_data["group_by"])
        return Response(CounterpartiesOutput(report).data)


class AnalyticsFiltersView(WidgetView):
    @extend_schema(operation_id="analytics_filters", responses={200: FiltersOutput},
                   summary="The account's distinct groups, education directions and managers")
    def get(self, request):
        return Response(FiltersOutput(analytics_filters(account=self.account)).data)


# --- [I] the figures users asked for: cash-in forecast, collection rate per manager, plan progress ------------
class ForecastInput(FilterInput):
    weeks = serializers.IntegerField(default=FORECAST_WEEKS, min_value=1, max_value=MAX_FORECAST_WEEKS)
    months = serializers.IntegerField(default=FORECAST_MONTHS, min_value=1, max_value=MAX_FORECAST_MONTHS)

    def to_filter(self) -> AnalyticsFilter:
        return AnalyticsFilter(**{key: value for key, value in self.validated_data.items()
                                  if key not in ("weeks", "months", "date_from", "date_to")})


class ForecastPeriodOutput(serializers.Serializer):
    start = serializers.DateField(help_text="the first day counted (today for the current week or month)")
    end = serializers.DateField()
    amount = MoneyField(help_text="the open lines' unpaid remainder due in the period")
    count = serializers.IntegerField(help_text="open lines due in the period")


class ForecastOutput(serializers.Serializer):
    currency = serializers.CharField()
    today = serializers.DateField()
    weeks = ForecastPeriodOutput(many=True, help_text="this week from today, then Monday to Sunday")
    months = ForecastPeriodOutput(many=True, help_text="this month from today, then calendar months")


class RateField(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(max_digits=6, decimal_places=4, allow_null=True, coerce_to_string=True, **kwargs)


class CollectionRowOutput(serializers.Serializer):
    manager_id = serializers.IntegerField(allow_null=True, help_text="the plan's manager, else the deal's "
                                                                     "responsible; null on the totals")
    due_amount = MoneyField(help_text="the lines due in the window")
    due_count = serializers.IntegerField()
    on_time_amount = MoneyField(help_text="of it, paid by payments dated on or before each line's due date")
    on_time_count = serializers.IntegerField(help_text="lines paid in full on time")
    rate_amount = RateField(help_text="on_time_amount / due_amount, e.g. \"0.8125\"; null when nothing was due")
    rate_count = RateField(help_text="on_time_count / due_count")


class CollectionOutput(serializers.Serializer):
    currency = serializers.CharField()
    date_from = serializers.DateField(help_text="the due dates counted: the filter's range, else the last 90 days, "
                                                "never today or later")
    date_to = serializers.DateField()
    rows = CollectionRowOutput(many=True)
    totals = CollectionRowOutput()


class ProgressInput(FilterInput):
    lead_id = serializers.IntegerField(required=False, min_value=1, max_value=2**62, help_text="one deal only")
    after = serializers.IntegerField(required=False, min_value=0, max_value=2**62,
                                     help_text="keyset paging: the next_after of the previous page")
    page_size = serializers.IntegerField(default=50, min_value=1, max_value=500)

    def to_filter(self) -> AnalyticsFilter:
        return AnalyticsFilter(**{key: value for key, value in self.validated_data.items()
                                  if key not in ("lead_id", "after", "page_size", "date_from", "date_to")})


class ProgressOutput(serializers.Serializer):
    lead_id = serializers.IntegerField(source="external_id")
    deal_name = serializers.CharField(allow_blank=True)
    client = serializers.CharField(allow_blank=True)
    lines_paid = serializers.IntegerField(help_text="lines paid in full («3 из 6 оплачено»)")
    lines_total = serializers.IntegerField()
    amount_paid = MoneyField()
    amount_total = MoneyField()
    next_due_date = serializers.DateField(allow_null=True, help_text="the earliest unpaid line's due date")


class ProgressPageOutput(serializers.Serializer):
    results = ProgressOutput(many=True)
    next_after = serializers.IntegerField(allow_null=True, help_text="pass as after for the next page; null: last")


class AnalyticsForecastView(WidgetView):
    @extend_schema(operation_id="analytics_forecast", parameters=[ForecastInput], responses={200: ForecastOutput},
                   summary="Cash-in forecast: the open lines by week and by month ahead")
    def get(self, request):
        serializer = _parsed(ForecastInput, request)
        forecast = cash_in_forecast(account=self.account, flt=serializer.to_filter(),
                                    weeks=serializer.validated_data["weeks"],
                                    months=serializer.validated_data["months"])
        return Response(ForecastOutput(forecast).data)


class AnalyticsCollectionView(WidgetView):
    @extend_schema(operation_id="analytics_collection_rate", parameters=[FilterInput],
                   responses={200: CollectionOutput},
                   summary="Collection rate per manager: paid on time ÷ due, by amount and by count")
    def get(self, request):
        flt = _parsed(FilterInput, request).to_filter()
        return Response(CollectionOutput(collection_rate(account=self.account, flt=flt)).data)


class AnalyticsProgressView(WidgetView):
    @extend_schema(operation_id="analytics_plan_progress", parameters=[ProgressInput],
                   responses={200: ProgressPageOutput},
                   summary="Plan progress per deal («3 из 6 оплачено»), by lead id, keyset paged")
    def get(self, request):
        serializer = _parsed(ProgressInput, request)
        data = serializer.validated_data
        size = data["page_size"]
        rows = plan_progress(account=self.account, flt=serializer.to_filter(),
                             external_ids=[data["lead_id"]] if data.get("lead_id") else None,
                             after_external_id=data.get("after"), limit=size + 1)
        return Response(ProgressPageOutput({
            "results": rows[:size], "next_after": rows[size - 1].external_id if len(rows) > size else None}).data)
