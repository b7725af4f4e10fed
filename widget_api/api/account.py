"""The widget's settings page: the account's settings, and the amoCRM lists to pick them from.

Thin: the serializers here only describe the JSON (for the schema and the GET body); billing checks and
stores every setting (billing.services.account_settings)."""
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from billing.domain import account_settings as schema
from billing.services.account_settings import account_settings_change
from billing.webhooks.self_test import gateway_notification_self_test
from crm.port import crm_connection_get, crm_options_get, stage_ids_of, template_deal_field_ids
from widget_api.account_settings import account_settings_get, cloudpayments_settings_get
from widget_api.api.base import WidgetView
from widget_api.auth import AdminRequired, IsWidgetUser, WritesByAdmins

AMO_ID = {"min_value": 1, "max_value": schema.MAX_AMO_ID}
# The legal lengths of the requisites' digits, as patterns for the schema.
DIGITS = {key: r"^(" + "|".join(rf"\d{{{length}}}" for length in lengths) + r")$"
          for key, lengths in schema.DIGITS.items()}


class CompletedStageSerializer(serializers.Serializer):
    status_id = serializers.IntegerField(**AMO_ID, help_text="142 = won; it exists in every pipeline")
    pipeline_id = serializers.IntegerField(**AMO_ID, allow_null=True, default=None,
                                           help_text="null: the lead's own pipeline")


CustomFieldsSerializer = type("CustomFieldsSerializer", (serializers.Serializer,), {
    key: serializers.IntegerField(**AMO_ID, allow_null=True, default=None) for key in schema.FIELD_KEYS})


def _requisite(key: str) -> serializers.Field:
    if key == "email":
        return serializers.EmailField(allow_blank=True, default="")
    if key in DIGITS:
        return serializers.RegexField(DIGITS[key], allow_blank=True, default="")
    return serializers.CharField(max_length=schema.REQUISITE_MAX_LENGTH, allow_blank=True, default="",
                                 help_text="director: who signs; accountant: the chief accountant"
                                 if key in schema.SIGNER_KEYS else None)


RequisitesSerializer = type("RequisitesSerializer", (serializers.Serializer,),
                            {key: _requisite(key) for key in schema.REQUISITE_KEYS})


RolesSerializer = type("RolesSerializer", (serializers.Serializer,), {
    key: serializers.IntegerField(**AMO_ID, allow_null=True, default=None,
                                  help_text="CRM user id; null: the task user, else the lead's responsible")
    for key in schema.ROLE_KEYS})


class ReminderSerializer(serializers.Serializer):
    day = serializers.IntegerField(min_value=schema.MIN_REMINDER_DAY, max_value=schema.MAX_REMINDER_DAY,
                                   help_text="negative = before the due date")
    action = serializers.ChoiceField(choices=schema.REMINDER_ACTIONS)


class ReceiptsSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(default=False, help_text="true needs CloudPayments connected and the INN")
    inn = serializers.RegexField(DIGITS["inn"], allow_blank=True, default="")
    taxation_system = serializers.ChoiceField(choices=schema.TAXATION_SYSTEMS, default=schema.USN_INCOME,
                                              help_text="0 OSN, 1 USN income, 2 USN income−expense, 4 ESHN, "
                                                        "5 patent; 3 (ENVD, abolished) is refused")
    vat = serializers.ChoiceField(choices=[code for code in schema.VAT_CODES if code is not None], allow_null=True,
                                  default=None, help_text="CloudKassir VAT code; null: no VAT")
    item_label = serializers.CharField(max_length=schema.ITEM_LABEL_MAX_LENGTH, allow_blank=True, default="")
    method = serializers.IntegerField(min_value=1, max_value=7, default=schema.FULL_PAYMENT_METHOD)
    object = serializers.IntegerField(min_value=1, max_value=27, default=schema.SERVICE_OBJECT)


class ClientServiceNameSerializer(serializers.Serializer):
    """What clients read as the service: a lead field, the deal's group or direction, or a fixed text."""

    source = serializers.ChoiceField(choices=schema.SERVICE_NAME_SOURCES, default="fixed",
                                     help_text="product, course, custom_field: the lead field `field_id`; group, "
                                               "education_direction: the deal's; fixed: `default_text`")
    field_id = serializers.IntegerField(**AMO_ID, allow_null=True, default=None)
    default_text = serializers.CharField(max_length=schema.SERVICE_TEXT_MAX_LENGTH, allow_blank=True,
                                         default=schema.DEFAULT_SERVICE_TEXT,
                                         help_text="shown when the chosen field is empty, e.g. «Оплата обучения»")


class CloudPaymentsInput(serializers.Serializer):
    """The terminal's keys. The secret is write-only: absent, null or blank keeps the stored one."""

    public_id = serializers.RegexField(r"^[A-Za-z0-9_.\-]{1,128}$", allow_blank=True, required=False,
                                       help_text="CloudPayments Public ID, e.g. pk_…; blank disconnects")
    api_secret = serializers.CharField(write_only=True, required=False, allow_null=True, allow_blank=True,
                                       min_length=8, max_length=256, help_text="write-only; never returned")
    clear_api_secret = serializers.BooleanField(required=False, default=False,
                                                help_text="true removes the stored secret (disconnects)")
    test_mode = serializers.BooleanField(required=False,
                                         help_text="the terminal is in CloudPayments test mode: TestMode "
                                                   "payments count as money")


class GatewaysSerializer(serializers.Serializer):
    cards = serializers.ChoiceField(choices=["cloudpayments", "yookassa"], required=False,
                                    help_text="the gateway of invoices, payment links and new saved cards")
    sbp = serializers.ChoiceField(choices=["", "yookassa"], required=False, allow_blank=True,
                                  help_text="the gateway of SBP payments («Оплатить через СБП»); blank: none")


class YooKassaInput(serializers.Serializer):
    shop_id = serializers.CharField(required=False, allow_blank=True, max_length=64, help_text="YooKassa shopId")
    secret_key = serializers.CharField(write_only=True, required=False, allow_null=True, allow_blank=True,
                                       min_length=8, max_length=256, help_text="write-only; never returned")
    clear_secret_key = serializers.BooleanField(required=False, default=False,
                                                help_text="true removes the stored key (disconnects)")
    payout_agent_id = serializers.CharField(required=False, allow_blank=True, max_length=64,
                                            help_text="YooKassa Payouts gateway id (agentId), for automatic payouts")
    payout_secret_key = serializers.CharField(write_only=True, required=False, allow_null=True, allow_blank=True,
                                              min_length=8, max_length=256,
                                              help_text="the payout gateway's key; write-only; never returned")
    clear_payout_secret_key = serializers.BooleanField(required=False, default=False,
                                                       help_text="true removes the payout gateway's key")


class YooKassaOutput(serializers.Serializer):
    shop_id = serializers.CharField(allow_blank=True)
    secret_key_set = serializers.BooleanField()
    connected = serializers.BooleanField()
    notification_url = serializers.CharField(help_text="paste into YooKassa's «HTTP-уведомления»")
    payout_agent_id = serializers.CharField(allow_blank=True)
    payout_secret_key_set = serializers.BooleanField()
    payouts_connected = serializers.BooleanField(help_text="automatic payouts can go out")


class LastNotificationOutput(serializers.Serializer):
    kind = serializers.CharField()
    received_at = serializers.DateTimeField()
    signature_valid = serializers.BooleanField()
    status = serializers.CharField()
    answer_code = serializers.IntegerField(allow_null=True)


NotificationUrlsOutput = type("NotificationUrlsOutput", (serializers.Serializer,), {
    kind: serializers.CharField() for kind in ("check", "pay", "fail", "confirm", "refund", "cancel", "recurrent")})


class CloudPaymentsOutput(serializers.Serializer):
    public_id = serializers.CharField(allow_blank=True)
    api_secret_set = serializers.BooleanField()
    connected = serializers.BooleanField(help_text="false: no Public ID or API secret; notifications are refused")
    test_mode = serializers.BooleanField()
    notification_urls = NotificationUrlsOutput(help_text="paste each into the CloudPayments cabinet")
    last_notification = LastNotificationOutput(allow_null=True)


class ConsentTextSerializer(serializers.Serializer):
    ru = serializers.CharField(max_length=schema.CONSENT_TEXT_MAX_LENGTH, allow_blank=True, default="")
    en = serializers.CharField(max_length=schema.CONSENT_TEXT_MAX_LENGTH, allow_blank=True, default="",
                               help_text="blank: the Russian text is shown in English too")


class RegistrationTemplateSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=255, help_text="the programme's code, unique in the form")
    title = serializers.CharField(max_length=255, help_text="what the client picks, e.g. «Курс «Массаж»»")
    total = serializers.CharField(max_length=32, help_text="the price in roubles: «160000», «160 000,50»")
    installments_count = serializers.IntegerField(min_value=1, max_value=360)
    period = serializers.ChoiceField(choices=schema.TEMPLATE_PERIODS, default="month")
    first_due_in_days = serializers.IntegerField(min_value=0, max_value=365, default=0,
                                                 help_text="the first payment is due this many days after sign-up")


class ClientRegistrationSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(default=False)
    consent_text = serializers.CharField(max_length=schema.CONSENT_TEXT_MAX_LENGTH, allow_blank=True, default="",
                                         help_text="the 152-FZ consent; blank: the standard text")
    templates = RegistrationTemplateSerializer(many=True, max_length=schema.MAX_REGISTRATION_TEMPLATES, default=list,
                                               help_text="the programmes offered, each with its default plan")
    embed_origins = serializers.ListField(child=serializers.CharField(max_length=255), default=list,
                                          max_length=schema.MAX_EMBED_ORIGINS,
                                          help_text="https sites that may show the form in a frame; none: any "
                                                    "https site")


class AccountSettingsInput(serializers.Serializer):
    """The body's shape, for the schema: billing checks every key (billing.domain.account_settings).
    PATCH: every key is optional and only the keys sent change (nested objects merged key by key).
    PUT: a complete body (every section and every key of its objects, except `cloudpayments`).
    A key PayPlan has no setting for, or a setting for something that does not run, is a 422
    `setting_not_supported`."""

    completed_stage = CompletedStageSerializer(required=False)
    custom_fields = CustomFieldsSerializer(required=False)
    task_user_id = serializers.IntegerField(**AMO_ID, required=False, allow_null=True,
                                            help_text="who gets tasks; null: the lead's responsible user")
    roles = RolesSerializer(required=False, help_text="payout plans: accountant_user_id gets each payout's task, "
                                                    "claims_specialist_user_id the task to close after the last")
    invoice_lead_days = serializers.IntegerField(min_value=0, max_value=60, required=False)
    invoice_grace_days = serializers.IntegerField(
        min_value=0, max_value=60, required=False,
        help_text="days a client gets to pay an invoice issued for a line already due")
    time_zone = serializers.CharField(max_length=64, required=False)
    requisites = RequisitesSerializer(required=False)
    reminders = ReminderSerializer(many=True, required=False, max_length=20,
                                   help_text="the old reminder list: read by the collections engine only while "
                                             "the account has no ladder of its own (then a change is refused)")
    receipts = ReceiptsSerializer(required=False)
    cloudpayments = CloudPaymentsInput(required=False)
    gateways = GatewaysSerializer(required=False)
    yookassa = YooKassaInput(required=False)
    client_service_name = ClientServiceNameSerializer(required=False)
    language = serializers.ChoiceField(choices=schema.LANGUAGES, required=False,
                                       help_text="of client texts: emails, documents, the client page")
    proposal_expiry_days = serializers.IntegerField(min_value=1, max_value=schema.MAX_PROPOSAL_EXPIRY_DAYS,
                                                    required=False)
    autopay_retry_days = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=schema.MAX_AUTOPAY_RETRY_GAP_DAYS), required=False,
        max_length=schema.MAX_AUTOPAY_RETRIES, help_text="days between retries of a soft-declined autopay charge")
    autopay_consent_text = ConsentTextSerializer(required=False, help_text="blank: PayPlan's own text naming the "
                                                                           "card, amounts and dates")
    client_registration = ClientRegistrationSerializer(required=False)
    plan_autostart = serializers.JSONField(
        required=False, help_text="[J] plans that start themselves: {enabled, stage: {pipeline_id, status_id}, "
                                  "template: {plan, total, installments_count, period, due_day, first_due_in_days, "
                                  "annual_rate, grace_periods, down_payment, fees: [{label, amount}]}, gate: "
                                  "{enabled, status_ids}}; each number {source: fixed|amount|field, value, field_id}")
    early_payoff_mode = serializers.ChoiceField(choices=["shorten", "lower"], required=False,
                                                help_text="what an early payment does when nobody chooses")


class CrmStatusOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["connected", "needs_reinstall", "disconnected", "not_installed"])
    reason = serializers.CharField(allow_blank=True)


class AccountSettingsOutput(AccountSettingsInput):
    crm = CrmStatusOutput()
    cloudpayments = CloudPaymentsOutput()
    registration_url = serializers.CharField(help_text="the sign-up form's address (derived; it answers only "
                                                       "while the form is on)")
    yookassa = YooKassaOutput()


class AccountSettingsView(WidgetView):
    permission_classes = [IsWidgetUser, WritesByAdmins]

    @extend_schema(operation_id="account_settings_get", responses={200: AccountSettingsOutput},
                   summary="The account's settings")
    def get(self, request):
        return Response(self._body())

    @extend_schema(operation_id="account_settings_patch", request=AccountSettingsInput,
                   responses={200: AccountSettingsOutput},
                   summary="Change some of the account's settings (admins): only the keys sent change; "
                           "objects are merged key by key")
    def patch(self, request):
        account_settings_change(account=self.account, changes=request.data,
                                deal_field_ids=template_deal_field_ids(account=self.account, body=request.data),
                                stage_ids=stage_ids_of(self.account.crm_kind))
        return Response(self._body())

    @extend_schema(operation_id="account_settings_put", request=AccountSettingsInput,
                   responses={200: AccountSettingsOutput},
                   summary="Replace the account's settings (admins): a complete body, else 422 naming what "
                           "is missing")
    def put(self, request):
        account_settings_change(account=self.account, changes=request.data, replace=True,
                                deal_field_ids=template_deal_field_ids(account=self.account, body=request.data),
                                stage_ids=stage_ids_of(self.account.crm_kind))
        return Response(self._body())

    def _body(self) -> dict:
        self.account.refresh_from_db()
        crm = crm_connection_get(account=self.account)
        return AccountSettingsOutput({**account_settings_get(account=self.account), "crm": crm}).data


class CloudPaymentsTestOutput(serializers.Serializer):
    verified = serializers.BooleanField(help_text="the stored secret signs and verifies a test Check")
    connected = serializers.BooleanField()
    http_status = serializers.IntegerField(help_text="what our notification endpoint answered")
    answer_code = serializers.IntegerField(allow_null=True)
    error_code = serializers.CharField(allow_null=True)
    message = serializers.CharField()
    last_notification = LastNotificationOutput(allow_null=True)


class CloudPaymentsTestView(WidgetView):
    """«Проверить уведомления»: a Check signed with the stored secret goes through the same receive and
    verify path in this process; everything it touched is rolled back, so it never records money."""

    permission_classes = [IsWidgetUser]

    @extend_schema(operation_id="account_cloudpayments_test", request=None,
                   responses={200: CloudPaymentsTestOutput}, summary="Check the CloudPayments secret (admins)")
    def post(self, request):
        if not request.user.is_admin:
            raise AdminRequired()
        result = gateway_notification_self_test(account=self.account)
        if result.verified:
            message = _("The API secret verifies: notifications signed by CloudPayments will be accepted.")
        elif result.error_code == "cloudpayments_not_connected":
            message = _("CloudPayments is not connected: enter the Public ID and the API secret.")
        else:
            message = _("The test notification was not accepted; check the API secret.")
        cloudpayments = cloudpayments_settings_get(account=self.account)
        return Response(CloudPaymentsTestOutput({
            "verified": result.verified, "connected": cloudpayments["connected"],
            "http_status": result.http_status, "answer_code": result.answer_code, "error_code": result.error_code,
            "message": str(message), "last_notification": cloudpayments["last_notification"],
        }).data)


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class CrmIdField(serializers.Field):
    """A stage's id as its CRM names it: amoCRM's status number, Bitrix24's STATUS_ID (`C1:WON`)."""

    def to_representation(self, value):
        return value if isinstance(value, int) else str(value)


class PipelineStatusOutput(serializers.Serializer):
    id = CrmIdField()
    name = serializers.CharField()
    sort = serializers.IntegerField()
    color = serializers.CharField(allow_blank=True)


class PipelineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    is_main = serializers.BooleanField()
    statuses = PipelineStatusOutput(many=True)


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.CharField(allow_blank=True)
    is_admin = serializers.BooleanField()
    is_active = serializers.BooleanField()


class FieldEnumOutput(serializers.Serializer):
    id = serializers.IntegerField()
    value = serializers.CharField()


class LeadFieldOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    type = serializers.CharField()
    code = serializers.CharField(allow_blank=True)
    enums = FieldEnumOutput(many=True)


class CrmOptionsOutput(serializers.Serializer):
    pipelines = PipelineOutput(many=True)
    users = UserOutput(many=True)
    lead_fields = LeadFieldOutput(many=True)
    suggested_custom_fields = CustomFieldsSerializer()
    warnings = serializers.ListField(child=serializers.CharField())


class CrmOptionsView(WidgetView):
    @extend_schema(operation_id="account_crm_options", responses={200: CrmOptionsOutput},
                   summary="Pipelines with stages, users and deal fields of the account's CRM (amoCRM or "
                           "Bitrix24: stage ids are then STATUS_ID strings such as C1:WON)")
    def get(self, request):
        return Response(CrmOptionsOutput(crm_options_get(account=self.account)).data)
