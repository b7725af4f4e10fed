"""Output serializers shared by the schedule and deal endpoints: the contract's response shapes."""
from rest_framework import serializers

from widget_api.api.fields import MoneyField


class InvoiceRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField()
    payment_url = serializers.CharField()


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


class ScheduleOutput(serializers.Serializer):
    lead_id = serializers.IntegerField()
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
    plan = serializers.ChoiceField(choices=["equal", "full", "custom"], allow_null=True)
    request = serializers.DictField(allow_null=True, help_text="the plan request of this version, as sent")


class NextDueOutput(serializers.Serializer):
    seq = serializers.IntegerField()
    due_date = serializers.DateField()
    amount = MoneyField()


class PaymentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    amount = MoneyField()
    method = serializers.CharField()
    paid_at = serializers.DateField()
    transaction_id = serializers.CharField(allow_null=True)
    comment = serializers.CharField(allow_blank=True)
    recorded_by = serializers.IntegerField(allow_null=True)
    recorded_at = serializers.DateTimeField()


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


class SubscriptionOutput(serializers.Serializer):
    state = serializers.ChoiceField(choices=["active", "paused", "cancelled"])
    price = MoneyField()
    period = serializers.ChoiceField(choices=["month", "2weeks", "week", "quarter"])
    every = serializers.IntegerField()
    reason = serializers.CharField(allow_blank=True, help_text="why the last version was made (pause, cancel, price)")
    change = serializers.CharField(allow_blank=True, help_text="pause, resume, cancel, price; '' for the first version")


class DealOutput(serializers.Serializer):
    lead_id = serializers.IntegerField()
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
