"""Schedule endpoints: preview a plan, or make it the deal's active plan."""
from dataclasses import replace
from decimal import Decimal

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.domain.interest import DAY_COUNTS, MAX_RATE
from billing.domain.schedule import CustomItem, DownPayment, ExtraCharge, PlanRequest
from billing.models import Direction
from billing.selectors import deal_state_get, schedule_state_from_plan
from billing.selectors.schedule_changes import plan_with_fees_kept, schedule_changes_get
from billing.services import ScheduleOptions, plan_preview, schedule_replace
from billing.services.schedules import schedule_request_full
from billing.texts import installment_label
from billing.time import account_today
from widget_api.api.base import WidgetView
from widget_api.api.fields import DueDayField, MoneyField, PositiveMoneyField, RoundingField
from widget_api.api.outputs import ScheduleOutput
from widget_api.idempotency import idempotent

IDEMPOTENCY_HEADER = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)


class DownPaymentInput(serializers.Serializer):
    amount = PositiveMoneyField()
    due_date = serializers.DateField(required=False, allow_null=True)


class ExtraChargeInput(serializers.Serializer):
    label = serializers.CharField(max_length=255, allow_blank=True, default="")
    amount = PositiveMoneyField()
    due_date = serializers.DateField(required=False, allow_null=True)


class CustomItemInput(serializers.Serializer):
    due_date = serializers.DateField()
    amount = PositiveMoneyField()
    interest = MoneyField(min_value=Decimal("0"), default=Decimal("0.00"),
                          help_text="of which interest (a plan rebuilt after an early payoff of an interest plan)")


class PlanInput(serializers.Serializer):
    plan = serializers.ChoiceField(choices=["equal", "full", "custom", "recurring", "annuity", "differentiated"],
                                   help_text="recurring: open-ended, installment_amount every `every` periods until "
                                             "cancelled; total is not sent. annuity / differentiated: with interest "
                                             "(annual_rate, day_count, grace_periods, start_date)")
    total = PositiveMoneyField(required=False, help_text="required except for recurring plans")
    every = serializers.IntegerField(required=False, default=1, min_value=1, max_value=52,
                                     help_text="recurring: a payment every N periods (e.g. period=week, every=3)")
    already_paid = MoneyField(min_value=Decimal("0"), default=Decimal("0.00"))
    down_payment = DownPaymentInput(required=False, allow_null=True)
    installments_count = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=120)
    installment_amount = PositiveMoneyField(required=False, allow_null=True)
    first_due_date = serializers.DateField(required=False, allow_null=True)
    period = serializers.ChoiceField(choices=["month", "2weeks", "week", "quarter"], default="month")
    due_day = DueDayField(required=False, allow_null=True)
    rounding = RoundingField(required=False, default=Decimal("0.01"))
    extra_charges = ExtraChargeInput(many=True, required=False, default=list)
    items = CustomItemInput(many=True, required=False, default=list)
    annual_rate = serializers.DecimalField(max_digits=9, decimal_places=4, required=False, default=Decimal("0"),
                                           help_text="interest plans: nominal percent a year, 0..1000")
    day_count = serializers.ChoiceField(choices=DAY_COUNTS, default="actual/365",
                                        help_text="interest plans: how days turn into a part of the year")
    grace_periods = serializers.IntegerField(required=False, default=0, min_value=0, max_value=119,
                                             help_text="interest plans: first lines with interest only")
    start_date = serializers.DateField(required=False, allow_null=True,
                                       help_text="interest plans: interest accrues from; default one period "
                                                 "before first_due_date")
    direction = serializers.ChoiceField(choices=Direction.values, default=Direction.INCOMING)
    group = serializers.CharField(max_length=255, allow_blank=True, default="")
    education_direction = serializers.CharField(max_length=255, allow_blank=True, default="")
    autopay = serializers.BooleanField(default=False)
    manager_id = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**62)
    requisites = serializers.CharField(max_length=1000, allow_blank=True, default="",
                                       help_text="outgoing plans: the recipient's bank details, put in the "
                                                 "accountant's payout tasks")
    payoff_mode = serializers.ChoiceField(choices=["shorten", "lower"], allow_blank=True, default="",
                                          help_text="[J] what an early payment does on this plan when nobody "
                                                    "chooses; blank: the account's rule (early_payoff_mode)")

    def validate(self, attrs):
        if attrs.get("plan") != "recurring" and attrs.get("total") is None:
            raise serializers.ValidationError({"total": [self.fields["total"].error_messages["required"]]})
        rate = attrs.get("annual_rate") or Decimal("0")
        if rate < 0 or rate > MAX_RATE:
            message = _("The interest rate must be from 0 to 1000 % a year.")
            raise serializers.ValidationError({"annual_rate": [message]})
        if attrs.get("plan") == "recurring" and attrs.get("installment_amount") is None:
            raise serializers.ValidationError({"installment_amount": [_("A subscription needs its price per period.")]})
        return attrs

    def to_plan_request(self) -> PlanRequest:
        data = self.validated_data
        down = data.get("down_payment")
        return PlanRequest(
            plan=data["plan"], total=data.get("total") or Decimal("0.00"), already_paid=data["already_paid"],
            every=data["every"],
            first_due_date=data.get("first_due_date"),
            down_payment=DownPayment(down["amount"], down.get("due_date")) if down else None,
            installments_count=data.get("installments_count"),
            installment_amount=data.get("installment_amount"),
            period=data["period"], due_day=data.get("due_day"), rounding=data["rounding"],
            extra_charges=tuple(ExtraCharge(c["label"], c["amount"], c.get("due_date"))
                                for c in data["extra_charges"]),
            items=tuple(CustomItem(i["due_date"], i["amount"], i["interest"]) for i in data["items"]),
            annual_rate=data["annual_rate"], day_count=data["day_count"], grace_periods=data["grace_periods"],
            start_date=data.get("start_date"),
        )

    def to_options(self) -> ScheduleOptions:
        data = self.validated_data
        return ScheduleOptions(direction=data["direction"], group=data["group"].strip(),
                               education_direction=data["education_direction"].strip(),
                               autopay=data["autopay"], manager_id=data.get("manager_id"),
                               requisites=data["requisites"].strip(), payoff_mode=data["payoff_mode"])


class LineSideOutput(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField(allow_blank=True)
    due_date = serializers.DateField()
    amount = MoneyField()
    interest = MoneyField()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["label"] = installment_label(data["kind"], data["label"])
        return data


class LineChangeOutput(serializers.Serializer):
    seq = serializers.IntegerField()
    change = serializers.ChoiceField(choices=["changed", "added", "removed"])
    was = LineSideOutput(allow_null=True)
    becomes = LineSideOutput(allow_null=True)


class FieldChangeOutput(serializers.Serializer):
    field = serializers.CharField()
    was = serializers.JSONField(allow_null=True)
    becomes = serializers.JSONField(allow_null=True)


class InvoiceChangeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    installment_seq = serializers.IntegerField()
    amount = MoneyField()
    due_date = serializers.DateField(allow_null=True, help_text="re-issued: the new line's due date")
    new_amount = MoneyField(allow_null=True, help_text="re-issued: the new line's amount")


class ScheduleChangesOutput(serializers.Serializer):
    base_version = serializers.IntegerField(help_text="the active version compared with")
    unchanged = serializers.BooleanField(help_text="true: saving this plan makes no new version")
    lines = LineChangeOutput(many=True, help_text="only the lines that differ, by seq")
    fields = FieldChangeOutput(many=True, help_text="totals and options that differ")
    invoices_cancelled = InvoiceChangeOutput(many=True)
    invoices_reissued = InvoiceChangeOutput(many=True, help_text="cancelled, then issued anew by the billing run")
    invoices_kept = InvoiceChangeOutput(many=True)


class SchedulePreviewOutput(ScheduleOutput):
    changes = ScheduleChangesOutput(allow_null=True, help_text="against the active version; null: no plan yet")


def _parsed(request) -> PlanInput:
    serializer = PlanInput(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer


class SchedulePreviewView(WidgetView):
    @extend_schema(operation_id="schedule_preview", request=PlanInput, responses={200: SchedulePreviewOutput},
                   summary="Compute a plan and what it changes; nothing is stored")
    def post(self, request, lead_id: int):
        serializer = _parsed(request)
        deal = self.deal(lead_id)  # the same lead id checks as every deal route; the account's own deal only
        plan_request, options = serializer.to_plan_request(), serializer.to_options()
        plan, _fee_moves = plan_with_fees_kept(deal=deal, plan=plan_preview(plan_request=plan_request),
                                               direction=options.direction)
        state = schedule_state_from_plan(plan=plan, external_id=lead_id, currency=self.account.currency,
                                         direction=serializer.validated_data["direction"])
        state = replace(state, plan=serializer.validated_data["plan"],
                        request=schedule_request_full(plan_request=plan_request, options=options))
        changes = schedule_changes_get(deal=deal, plan=plan, options=options)
        return Response(SchedulePreviewOutput({**vars(state), "changes": changes}).data)


class ScheduleView(WidgetView):
    @extend_schema(operation_id="schedule_replace", request=PlanInput, responses={200: ScheduleOutput},
                   parameters=[IDEMPOTENCY_HEADER], summary="Make this plan the active one (a new version)")
    def put(self, request, lead_id: int):
        return idempotent(request, account=self.account, handler=lambda: self._replace(request, lead_id))

    def _replace(self, request, lead_id: int) -> Response:
        serializer = _parsed(request)
        deal = self.deal(lead_id)
        schedule_replace(deal=deal, plan_request=serializer.to_plan_request(), options=serializer.to_options(),
                         created_by=self.amo_user_id,
                         today=account_today(self.account))
        return Response(ScheduleOutput(deal_state_get(deal=deal).schedule).data)
