"""Collections endpoints: the ladder settings and channel keys, a deal's reminders and the manager's
actions on them, and the «Должники сегодня» worklist. Thin: the rules live in billing.dunning."""
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.dunning import domain
from billing.dunning.manager import call_outcome_record, deal_decision_record, deal_promise_record, remind_now
from billing.dunning.models import ChannelSettings, DunningPolicy
from billing.dunning.penalties import penalty_waive
from billing.dunning.selectors import channel_settings_get, deal_dunning_get, policy_get
from billing.dunning.services import channel_settings_set, dunning_policy_set
from billing.dunning.worklist import deal_next_step, debtors_count, debtors_page
from billing.time import account_today
from crm.port import stage_ids_of
from widget_api.api.analytics import FilterInput
from widget_api.api.base import WidgetView
from widget_api.api.fields import BoundedDateField, MoneyField
from widget_api.auth import IsWidgetUser, WritesByAdmins

AMO_ID = {"min_value": 1, "max_value": 2**62}
SEQ = {"min_value": 1, "max_value": 10_000}


# --- settings --------------------------------------------------------------------------------------
class DunningSettingsInput(serializers.Serializer):
    """PATCH: every key optional; a key sent replaces the stored one, the rest is kept. The ladder rules
    (steps, fees, stages) are checked by billing.dunning.domain and answered 422 naming the field."""

    enabled = serializers.BooleanField(required=False)
    steps = serializers.ListField(child=serializers.JSONField(), required=False, max_length=50,
                                  help_text="[{day, channel, template, after_cutoff, assignee{kind,user_id}, "
                                            "action{kind,...}}]")
    cutoff_hour = serializers.JSONField(required=False, help_text="0..23, default 18")
    quiet_start_hour = serializers.JSONField(required=False, help_text="0..23, default 21")
    quiet_end_hour = serializers.JSONField(required=False, help_text="0..23, default 9")
    postpone_max_days = serializers.JSONField(required=False, help_text="0..90, default 7")
    head_of_sales_user_id = serializers.JSONField(required=False)
    lawyer_user_id = serializers.JSONField(required=False)
    penalties = serializers.JSONField(required=False, help_text="null or {enabled, fixed | percent_per_day, cap, "
                                                                "grace_days}; money as strings")
    stages = serializers.JSONField(required=False, help_text="{aging bucket or decision: {status_id, pipeline_id}}; "
                                                             "status_id: amoCRM's number, Bitrix24's code (C1:WON)")
    end_of_ladder = serializers.JSONField(required=False, help_text="'', lawyer, monthly, write_off")


class DunningSettingsOutput(serializers.Serializer):
    enabled = serializers.BooleanField()
    policy = serializers.DictField(help_text="the ladder as stored (defaults filled in)")
    custom = serializers.BooleanField(help_text="false: the defaults (or the mapped old reminders) run")
    buckets = serializers.ListField(child=serializers.CharField())
    channels = serializers.DictField(help_text="{sms|whatsapp|telegram: {enabled, has_secret, options}}")
    legacy_reminders = serializers.ListField(child=serializers.DictField(),
                                             help_text="read-only: the old settings.reminders, superseded")


def _settings_body(account) -> dict:
    enabled, policy = policy_get(account=account)
    return {"enabled": enabled, "policy": domain.policy_dump(policy),
            "custom": DunningPolicy.objects.filter(account=account).exists(), "buckets": list(domain.BUCKET_NAMES),
            "channels": channel_settings_get(account=account),
            "legacy_reminders": list(account.settings.get("reminders") or [])}


class DunningSettingsView(WidgetView):
    permission_classes = [IsWidgetUser, WritesByAdmins]

    @extend_schema(operation_id="dunning_settings_get", responses={200: DunningSettingsOutput},
                   summary="The reminder ladder, hours, fees, stage mapping and channels")
    def get(self, request):
        return Response(DunningSettingsOutput(_settings_body(self.account)).data)

    @extend_schema(operation_id="dunning_settings_patch", request=DunningSettingsInput,
                   responses={200: DunningSettingsOutput}, summary="Change the ladder (admins)")
    def patch(self, request):
        serializer = DunningSettingsInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        current_enabled, current = policy_get(account=self.account)
        enabled = data.pop("enabled", current_enabled)
        dunning_policy_set(account=self.account, config={**domain.policy_dump(current), **data}, enabled=enabled,
                           stage_ids=stage_ids_of(self.account.crm_kind))
        return Response(DunningSettingsOutput(_settings_body(self.account)).data)


class ChannelInput(serializers.Serializer):
    """Keys are write-only: absent or null keeps the stored one, "" clears it; never returned."""

    channel = serializers.ChoiceField(choices=ChannelSettings.Channel.values)
    enabled = serializers.BooleanField(default=True)
    secret = serializers.CharField(write_only=True, required=False, allow_null=True, allow_blank=True,
                                   max_length=512, help_text="SMS.ru api_id / WhatsApp token / Telegram bot token")
    options = serializers.DictField(required=False, default=dict,
                                    help_text="sender, phone_number_id, template, bot_username, webhook_secret")

    def validate_options(self, value: dict) -> dict:
        if len(value) > 10 or any(not isinstance(item, str | int | bool) or len(str(item)) > 255
                                  for item in value.values()):
            raise serializers.ValidationError(gettext("Up to 10 options, each a short string, number or flag."))
        return value


class ChannelsOutput(serializers.Serializer):
    channels = serializers.DictField()


class DunningChannelsView(WidgetView):
    permission_classes = [IsWidgetUser, WritesByAdmins]

    @extend_schema(operation_id="dunning_channels_get", responses={200: ChannelsOutput},
                   summary="The messaging channels: options and whether a key is set, never the key")
    def get(self, request):
        return Response({"channels": channel_settings_get(account=self.account)})

    @extend_schema(operation_id="dunning_channels_put", request=ChannelInput, responses={200: ChannelsOutput},
                   summary="Set one channel's key and options (admins)")
    def put(self, request):
        serializer = ChannelInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        channel_settings_set(account=self.account, channel=data["channel"], options=data["options"],
                             secret=data.get("secret"), enabled=data["enabled"])
        return Response({"channels": channel_settings_get(account=self.account)})


# --- a deal's reminders ------------------------------------------------------------------------------
class SendOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    seq = serializers.IntegerField()
    due_date = serializers.DateField()
    step_key = serializers.CharField()
    channel = serializers.CharField()
    recipient = serializers.CharField(allow_blank=True)
    status = serializers.CharField(help_text="planned, sending, retrying, sent, failed, skipped, cancelled")
    error = serializers.CharField(allow_blank=True, help_text="the provider's reason, or why it was not sent")
    attempts = serializers.IntegerField()
    text = serializers.CharField(allow_blank=True)


class OverdueFactOutput(serializers.Serializer):
    seq = serializers.IntegerField()
    due_date = serializers.DateField()
    recorded_at = serializers.DateTimeField()
    outstanding = MoneyField()
    debt = MoneyField()
    text = serializers.CharField()


class LineStateOutput(serializers.Serializer):
    seq = serializers.IntegerField()
    due_date = serializers.DateField()
    paused_until = serializers.DateField(allow_null=True)
    shift_days = serializers.IntegerField()
    ladder_done = serializers.BooleanField()
    penalty_waived = serializers.BooleanField()


class DecisionOutput(serializers.Serializer):
    decision = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    debt = MoneyField()
    decided_by = serializers.IntegerField(allow_null=True)
    at = serializers.DateTimeField()


class CallOutput(serializers.Serializer):
    seq = serializers.IntegerField()
    outcome = serializers.CharField()
    promised_on = serializers.DateField(allow_null=True)
    comment = serializers.CharField(allow_blank=True)
    recorded_by = serializers.IntegerField(allow_null=True)
    at = serializers.DateTimeField()


class PenaltyOutput(serializers.Serializer):
    seq = serializers.IntegerField(help_text="the overdue line")
    fee_seq = serializers.IntegerField(help_text="the fee line in the schedule")
    kind = serializers.ChoiceField(choices=["charge", "waiver"])
    charged_on = serializers.DateField()
    amount = MoneyField()
    reason = serializers.CharField()


class DealNextStepOutput(serializers.Serializer):
    seq = serializers.IntegerField(help_text="the line the step is for")
    due_date = serializers.DateField()
    day = serializers.IntegerField(help_text="the step's day relative to the due date")
    channel = serializers.CharField()
    date = serializers.DateField(help_text="the day it is due")


class DealDunningOutput(serializers.Serializer):
    next_step = DealNextStepOutput(allow_null=True, help_text="the earliest ladder step still to come; null: none")
    sends = SendOutput(many=True)
    overdue = OverdueFactOutput(many=True)
    lines = LineStateOutput(many=True)
    decisions = DecisionOutput(many=True)
    calls = CallOutput(many=True)
    penalties = PenaltyOutput(many=True)
    decision = DecisionOutput(allow_null=True, help_text="the latest end-of-ladder decision (who, when, what); "
                                                         "null: none")
    reminders_stopped = serializers.BooleanField(help_text="handed to the lawyer or written off: no reminder steps "
                                                           "for any line of the deal, those due later included")


def _card(view: WidgetView, lead_id: int) -> dict:
    card = deal_dunning_get(account=view.account, external_id=lead_id)
    next_step = deal_next_step(account=view.account, external_id=lead_id, today=account_today(view.account))
    return DealDunningOutput({**vars(card), "next_step": next_step}).data


class DealDunningView(WidgetView):
    @extend_schema(operation_id="deal_dunning_get", responses={200: DealDunningOutput},
                   summary="A deal's reminders: send log, overdue facts, pauses, calls, decisions, fees")
    def get(self, request, lead_id: int):
        return Response(_card(self, lead_id))


class PromiseInput(serializers.Serializer):
    seq = serializers.IntegerField(**SEQ)
    date = BoundedDateField()


class CallOutcomeInput(serializers.Serializer):
    seq = serializers.IntegerField(**SEQ)
    outcome = serializers.ChoiceField(choices=domain.CALL_OUTCOMES)
    date = BoundedDateField(required=False, help_text="required with outcome=promised")
    comment = serializers.CharField(max_length=2000, allow_blank=True, default="")


class RemindNowInput(serializers.Serializer):
    seq = serializers.IntegerField(**SEQ)
    channel = serializers.ChoiceField(choices=domain.CHANNELS)


class DecisionInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=domain.DECISIONS, help_text="lawyer: «Передать юристу»")
    seq = serializers.IntegerField(**SEQ, required=False)
    reason = serializers.CharField(max_length=2000, allow_blank=True, default="")


class WaiveFeeInput(serializers.Serializer):
    seq = serializers.IntegerField(**SEQ, help_text="the fee line's seq")
    reason = serializers.CharField(max_length=2000)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PromiseView(WidgetView):
    @extend_schema(operation_id="deal_dunning_promise", request=PromiseInput, responses={200: DealDunningOutput},
                   summary="«Клиент обещал оплатить…»: pause the line's reminders until the date")
    def post(self, request, lead_id: int):
        data = _valid(PromiseInput, request)
        deal_promise_record(account=self.account, external_id=lead_id, seq=data["seq"], promised_on=data["date"],
                            recorded_by=self.amo_user_id, now=timezone.now())
        return Response(_card(self, lead_id))


class CallOutcomeView(WidgetView):
    @extend_schema(operation_id="deal_dunning_call_outcome", request=CallOutcomeInput,
                   responses={200: DealDunningOutput},
                   summary="«Результат звонка»; promised pauses the line, refused hands the deal to the lawyer")
    def post(self, request, lead_id: int):
        data = _valid(CallOutcomeInput, request)
        call_outcome_record(account=self.account, external_id=lead_id, seq=data["seq"], outcome=data["outcome"],
                            promised_on=data.get("date"), comment=data["comment"], recorded_by=self.amo_user_id,
                            now=timezone.now())
        return Response(_card(self, lead_id))


class RemindNowView(WidgetView):
    @extend_schema(operation_id="deal_dunning_remind_now", request=RemindNowInput,
                   responses={202: DealDunningOutput},
                   summary="«Напомнить сейчас» on one channel (outside the client's quiet hours)")
    def post(self, request, lead_id: int):
        data = _valid(RemindNowInput, request)
        remind_now(account=self.account, external_id=lead_id, seq=data["seq"], channel=data["channel"],
                   requested_by=self.amo_user_id, now=timezone.now())
        return Response(_card(self, lead_id), status=202)


class DecisionView(WidgetView):
    @extend_schema(operation_id="deal_dunning_decision", request=DecisionInput, responses={201: DealDunningOutput},
                   summary="Hand to the lawyer, keep reminding monthly, or write off (a record; the debt stays)")
    def post(self, request, lead_id: int):
        data = _valid(DecisionInput, request)
        deal_decision_record(account=self.account, external_id=lead_id, decision=data["decision"], seq=data.get("seq"),
                             reason=data["reason"], decided_by=self.amo_user_id, now=timezone.now())
        return Response(_card(self, lead_id), status=201)


class WaiveFeeView(WidgetView):
    @extend_schema(operation_id="deal_dunning_waive_fee", request=WaiveFeeInput, responses={200: DealDunningOutput},
                   summary="Waive the unpaid part of a late fee with a reason (a new schedule version)")
    def post(self, request, lead_id: int):
        data = _valid(WaiveFeeInput, request)
        penalty_waive(account=self.account, external_id=lead_id, fee_seq=data["seq"], reason=data["reason"],
                      waived_by=self.amo_user_id, today=account_today(self.account), now=timezone.now())
        return Response(_card(self, lead_id))


# --- the worklist ------------------------------------------------------------------------------------
class DebtorsInput(FilterInput):
    bucket = serializers.ChoiceField(choices=domain.BUCKET_NAMES, required=False,
                                     help_text="an aging bucket of analytics; default: every overdue line")
    page = serializers.IntegerField(default=1, min_value=1, max_value=1_000_000)
    page_size = serializers.IntegerField(default=50, min_value=1, max_value=500)

    def to_filter(self):
        from billing.selectors.analytics import AnalyticsFilter

        return AnalyticsFilter(**{key: value for key, value in self.validated_data.items()
                                  if key not in ("bucket", "page", "page_size")})


class NextStepOutput(serializers.Serializer):
    day = serializers.IntegerField()
    channel = serializers.CharField()
    date = serializers.DateField()


class DebtorOutput(serializers.Serializer):
    lead_id = serializers.IntegerField(source="external_id")
    deal_name = serializers.CharField(allow_blank=True)
    client = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    seq = serializers.IntegerField()
    kind = serializers.CharField()
    due_date = serializers.DateField()
    amount = MoneyField()
    remaining = MoneyField()
    debt = MoneyField()
    days_overdue = serializers.IntegerField()
    bucket = serializers.CharField(allow_null=True)
    manager_id = serializers.IntegerField(allow_null=True)
    last_contact_at = serializers.DateTimeField(allow_null=True)
    last_contact_channel = serializers.CharField(allow_null=True)
    paused_until = serializers.DateField(allow_null=True)
    next_step = NextStepOutput(allow_null=True)


class DebtorsPageOutput(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = DebtorOutput(many=True)


class DebtorsTodayView(WidgetView):
    @extend_schema(operation_id="analytics_debtors_today", parameters=[DebtorsInput],
                   responses={200: DebtorsPageOutput}, summary="«Должники сегодня»: overdue lines to work through")
    def get(self, request):
        serializer = DebtorsInput(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        today = account_today(self.account)
        flt, bucket, size = serializer.to_filter(), data.get("bucket"), data["page_size"]
        count = debtors_count(account=self.account, flt=flt, today=today, bucket=bucket)
        pages = max(1, -(-count // size))  # as Django's Paginator: an empty list is one empty page
        rows = (debtors_page(account=self.account, flt=flt, today=today, bucket=bucket,
                             start=(data["page"] - 1) * size, size=size) if data["page"] <= pages else [])
        return Response(DebtorsPageOutput({
            "count": count, "page": data["page"], "page_size": size, "pages": pages, "results": rows,
        }).data)
