"""Output serializers shared by the schedule and deal endpoints: the contract's response shapes."""
from rest_framework import serializers

from billing.texts import installment_label, payment_comment
from widget_api.api.fields import MoneyField


class FailureOutput(serializers.Serializer):
    code = serializers.IntegerField(allow_null=True, help_text="CloudPayments ReasonCode")
    reason_text = serializers.CharField(help_text="The bank's reason in plain words (Russian for ru)")
    attempts = serializers.IntegerField(help_text="Declined attempts so far")


class InvoiceRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField()
    payment_url = serializers.CharField()
    failure = FailureOutput(allow_null=True, help_text="The last declined payment, while the invoice is unpaid")


class InstallmentOutput(serializers.Serializer):
    seq = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["down_payment", "regular", "extra", "fee"])
    label = serializers.CharField()
    due_date = serializers.DateField()
    amount = MoneyField()
    paid = MoneyField()
    status = serializers.ChoiceField(
        choices=["planned", "invoiced", "partially_paid", "paid", "overdue", "cancelled"])
    invoice = InvoiceRefOutput(allow_null=True)
    days_overdue = serializers.IntegerField(help_text="days past the due date while unpaid; 0 otherwise")
    interest = MoneyField(help_text="the part of amount that is interest (interest plans; 0.00 otherwise)")

    def to_representation(self, instance):
        # The engine's default labels are codes ("Down payment"): people read the catalogue's words.
        data = super().to_representation(instance)
        data["label"] = installment_label(data["kind"], data["label"])
        return data


class ScheduleOutput(serializers.Serializer):
    lead_id = serializers.IntegerField(source="external_id")
    version = serializers.IntegerField(allow_null=True, help_text="null in a preview")
    currency = serializers.CharField()
    direction = serializers.ChoiceField(choices=["incoming", "outgoing"])
    total = MoneyField()
    already_paid = MoneyField()
    debt = MoneyField()
    installments_count = serializers.IntegerField()
    monthly_payment = MoneyField(allow_null=True)
    last_due_date = serializers.DateField(allow_null=True)
    installments = InstallmentOutput(many=True)
    plan = serializers.ChoiceField(choices=["equal", "full", "custom", "recurring", "annuity", "differentiated"],
                                   allow_null=True)
    request = serializers.DictField(allow_null=True, help_text="the plan request of this version, as sent")
    interest_total = MoneyField(help_text="interest of all lines; total includes it")
    effective_rate = serializers.DecimalField(max_digits=12, decimal_places=3, allow_null=True, coerce_to_string=True,
                                              help_text="interest plans: the effective annual rate, percent")


class NextDueOutput(serializers.Serializer):
    seq = serializers.IntegerField()
    due_date = serializers.DateField()
    amount = MoneyField()


class CorrectionOutput(serializers.Serializer):
    payment_id = serializers.IntegerField(help_text="The negative entry")
    amount = MoneyField(help_text="Positive: how much was reversed or refunded")
    reason = serializers.CharField(allow_blank=True)
    by = serializers.IntegerField(allow_null=True, help_text="amoCRM user id")
    at = serializers.DateTimeField()


class PaymentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    amount = MoneyField()
    method = serializers.CharField()
    paid_at = serializers.DateField()
    transaction_id = serializers.CharField(allow_null=True)
    comment = serializers.CharField(allow_blank=True)
    recorded_by = serializers.IntegerField(allow_null=True)
    recorded_at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=["payment", "storno", "refund"])
    corrects = serializers.IntegerField(allow_null=True, help_text="storno/refund: the payment it corrects")
    reason = serializers.CharField(allow_blank=True, help_text="storno/refund: why")
    reversal = CorrectionOutput(allow_null=True, help_text="the storno of this payment, if any")
    refunds = CorrectionOutput(many=True, help_text="refunds of this payment")
    can_reverse = serializers.BooleanField(help_text="an offline payment not reversed yet")
    refundable = MoneyField(allow_null=True, help_text="online payments: what an admin may still refund")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["comment"] = payment_comment(data["comment"])
        return data


class InvoiceOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    installment_seq = serializers.IntegerField()
    amount = MoneyField()
    status = serializers.CharField()
    payment_url = serializers.CharField(allow_blank=True)
    pdf_url = serializers.CharField()
    issued_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    failure = FailureOutput(allow_null=True, help_text="The last declined payment, while the invoice is unpaid")


class SavedCardOutput(serializers.Serializer):
    last_four = serializers.CharField(allow_blank=True)
    exp = serializers.CharField(allow_blank=True, help_text="MM/YY")
    card_type = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=["active", "disabled", "revoked", "replaced"])
    consented_at = serializers.DateTimeField(allow_null=True)
    consent_source = serializers.CharField(allow_blank=True)
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_by = serializers.CharField(allow_blank=True, help_text="manager:<amo user id> | client | bank")
    status_reason = serializers.CharField(allow_blank=True)


class ChargeOutput(serializers.Serializer):
    installment_seq = serializers.IntegerField()
    attempt = serializers.IntegerField()
    charge_date = serializers.DateField()
    amount = MoneyField()
    status = serializers.ChoiceField(choices=["sending", "succeeded", "declined", "fallback", "skipped"])
    reason_code = serializers.IntegerField(allow_null=True, help_text="CloudPayments ReasonCode of a decline")
    retry_on = serializers.DateField(allow_null=True)


class AutopayOutput(serializers.Serializer):
    offered = serializers.BooleanField(help_text="the active plan is an autopay plan")
    enabled = serializers.BooleanField(help_text="a card with the client's consent is switched on")
    card = SavedCardOutput(allow_null=True, help_text="the switched-on card, else the last one")
    charges = ChargeOutput(many=True)


class SubscriptionOutput(serializers.Serializer):
    state = serializers.ChoiceField(choices=["active", "paused", "cancelled"])
    price = MoneyField()
    period = serializers.ChoiceField(choices=["month", "2weeks", "week", "quarter"])
    every = serializers.IntegerField()
    reason = serializers.CharField(allow_blank=True, help_text="why the last version was made (pause, cancel, price)")
    change = serializers.CharField(allow_blank=True, help_text="pause, resume, cancel, price; '' for the first version")


class DealOutput(serializers.Serializer):
    lead_id = serializers.IntegerField(source="external_id")
    status = serializers.ChoiceField(choices=["no_plan", "active", "overdue", "paid", "cancelled"])
    currency = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    direction = serializers.ChoiceField(choices=["incoming", "outgoing"])
    total = MoneyField()
    paid = MoneyField()
    debt = MoneyField()
    overdue_amount = MoneyField()
    next_due = NextDueOutput(allow_null=True)
    group = serializers.CharField(allow_blank=True)
    education_direction = serializers.CharField(allow_blank=True)
    payout_requisites = serializers.CharField(allow_blank=True, help_text="outgoing plans: the recipient's bank "
                                                                          "details the accountant's tasks show")
    schedule = ScheduleOutput(allow_null=True)
    subscription = SubscriptionOutput(allow_null=True, help_text="recurring plans only; null otherwise")
    payments = PaymentOutput(many=True)
    invoices = InvoiceOutput(many=True)
    days_overdue = serializers.IntegerField(help_text="days overdue of the oldest unpaid line; 0: none overdue")
    autopay = AutopayOutput(allow_null=True)
