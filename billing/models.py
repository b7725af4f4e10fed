"""The money core's data: tenants, deals, versioned schedules, payments, allocations, invoices."""
import secrets

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from billing.encryption import EncryptedTextField

MONEY = {"max_digits": 14, "decimal_places": 2}


def _new_account_key() -> str:
    return secrets.token_urlsafe(18)


def default_crm_kind() -> str:
    """The CRM an account (and its deals) is created for unless told otherwise: billing names no CRM,
    settings.PAYPLAN_DEFAULT_CRM_KIND does (the kinds are crm.port's adapters)."""
    return settings.PAYPLAN_DEFAULT_CRM_KIND


class Direction(models.TextChoices):
    INCOMING = "incoming", "Client pays us"
    OUTGOING = "outgoing", "We pay the client"


class Account(models.Model):
    """One tenant: a CRM account (crm_kind, crm_account_id) with its own CloudPayments terminal and settings."""

    # Which CRM the account's deals live in: the CRM side's outbox picks its adapter by it.
    crm_kind = models.CharField(max_length=16, default=default_crm_kind)
    # The account's id in its CRM, as that CRM's adapter picks it (a number the CRM gives, or the adapter's own
    # row id when the CRM's key is not a number). Unique per CRM kind, so two CRMs' numbering never collide.
    crm_account_id = models.BigIntegerField()
    slug = models.CharField(max_length=100, unique=True)
    host = models.CharField(max_length=255, help_text="The CRM account's host, e.g. school.example.ru")
    name = models.CharField(max_length=255, blank=True)
    webhook_key = models.CharField(max_length=64, unique=True, default=_new_account_key)
    cloudpayments_public_id = models.CharField(max_length=128, blank=True)
    cloudpayments_api_secret = EncryptedTextField(blank=True)
    cloudpayments_test_mode = models.BooleanField(
        default=False, help_text="The terminal is in CloudPayments test mode: TestMode notifications count as "
                                 "money. On a live account (False) they are stored and shown, never counted.")
    # YooKassa (contracts/yookassa.md): the shop's id and secret key (HTTP Basic); the key is write-only.
    yookassa_shop_id = models.CharField(max_length=64, blank=True)
    yookassa_secret_key = EncryptedTextField(blank=True)
    # YooKassa Payouts (contracts/yookassa.md §14): its own gateway (agent) id and secret key; write-only.
    yookassa_payout_agent_id = models.CharField(max_length=64, blank=True)
    yookassa_payout_secret_key = EncryptedTextField(blank=True)
    time_zone = models.CharField(max_length=64, default="Europe/Moscow")
    currency = models.CharField(max_length=3, default="RUB")
    completed_status_id = models.BigIntegerField(default=142)
    completed_pipeline_id = models.BigIntegerField(null=True, blank=True)
    settings = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["crm_kind", "crm_account_id"],
                                               name="account_crm_id_unique_per_kind")]

    def __str__(self) -> str:
        return f"{self.slug} ({self.crm_account_id})"

    @property
    def cloudpayments_connected(self) -> bool:
        """Both keys are set; without a secret no notification verifies and no payment is taken."""
        return bool(self.cloudpayments_public_id and self.cloudpayments_api_secret)

    @property
    def yookassa_connected(self) -> bool:
        return bool(self.yookassa_shop_id and self.yookassa_secret_key)

    @property
    def yookassa_payouts_connected(self) -> bool:
        return bool(self.yookassa_payout_agent_id and self.yookassa_payout_secret_key)


class Deal(models.Model):
    """A deal of the account's CRM (crm_kind; external_id: its id there) as PayPlan knows it; its status is
    derived from the plan and payments."""

    class Status(models.TextChoices):
        NO_PLAN = "no_plan"
        ACTIVE = "active"
        OVERDUE = "overdue"
        PAID = "paid"
        CANCELLED = "cancelled"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="deals")
    # Which CRM the deal lives in (its account's) and its id there; the widget API calls it the lead id.
    crm_kind = models.CharField(max_length=16, default=default_crm_kind)
    external_id = models.BigIntegerField()
    name = models.CharField(max_length=255, blank=True)
    contact_name = models.CharField(max_length=255, blank=True)
    contact_phone = models.CharField(max_length=64, blank=True)
    contact_email = models.CharField(max_length=254, blank=True)
    responsible_user_id = models.BigIntegerField(null=True, blank=True)
    group = models.CharField(max_length=255, blank=True)
    education_direction = models.CharField(max_length=255, blank=True)
    service_name = models.CharField(
        max_length=255, blank=True, help_text="The service as clients read it, from the lead field the account "
                                              "chose (client_service_name); never the lead's title.")
    contract_number = models.CharField(max_length=32, blank=True,
                                       help_text="«Д-2026-000001»: given once, when the contract is first made.")
    client_inn = models.CharField(max_length=12, blank=True,
                                  help_text="The paying client's INN (10 or 12 digits): matches bank credits.")
    direction = models.CharField(max_length=16, choices=Direction.choices, default=Direction.INCOMING)
    payout_requisites = models.TextField(blank=True, help_text="An outgoing plan's recipient bank details, for "
                                                              "the accountant's payout tasks.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NO_PLAN)
    total = models.DecimalField(**MONEY, default=0)
    paid = models.DecimalField(**MONEY, default=0)
    debt = models.DecimalField(**MONEY, default=0)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The client page link (/p/<token>) names this version: «Новая ссылка» bumps it, revoking every older link.
    client_link_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "crm_kind", "external_id"],
                                    name="deal_external_id_unique_per_account_and_crm"),
            # The target of CrmAction's (deal, account, lead) foreign key: an action can only name the
            # account and lead of its own deal (widget_api migration 0002).
            models.UniqueConstraint(fields=["id", "account", "external_id"], name="deal_identity_for_crm_actions"),
            models.CheckConstraint(condition=Q(external_id__gt=0), name="deal_external_id_positive"),
            models.CheckConstraint(condition=Q(total__gte=0), name="deal_total_not_negative"),
            models.UniqueConstraint(fields=["account", "contract_number"], condition=~Q(contract_number=""),
                                    name="deal_contract_number_unique_per_account"),
        ]
        indexes = [models.Index(fields=["account", "status"])]

    def __str__(self) -> str:
        return f"lead {self.external_id}"


class DealStage(models.Model):
    """[J] The CRM stage PayPlan last saw a deal in, or moved it to: stage rules (billing.services.plan_autostart)
    act on a change of stage only, never on a repeated report or on the echo of their own move."""

    deal = models.OneToOneField(Deal, on_delete=models.CASCADE, related_name="crm_stage")
    status_id = models.BigIntegerField()  # a CRM that names its stages by code: 0, the code in status_code
    status_code = models.CharField(max_length=50, blank=True, default="")  # `C1:NEW`
    pipeline_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.pipeline_id}/{self.status_code or self.status_id}"

    @property
    def stage_id(self) -> int | str:
        return self.status_code or self.status_id


class Schedule(models.Model):
    """One version of a deal's plan. Versions are never edited; exactly one is active."""

    class Plan(models.TextChoices):
        EQUAL = "equal"
        FULL = "full"
        CUSTOM = "custom"
        RECURRING = "recurring"  # open-ended: lines appended a rolling horizon ahead (billing.services.recurring)
        ANNUITY = "annuity"  # interest-bearing, equal payments (billing.domain.interest)
        DIFFERENTIATED = "differentiated"  # interest-bearing, equal principal parts

    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="schedules")
    version = models.PositiveIntegerField()
    is_active = models.BooleanField(default=True)
    plan = models.CharField(max_length=16, choices=Plan.choices)
    direction = models.CharField(max_length=16, choices=Direction.choices, default=Direction.INCOMING)
    total = models.DecimalField(**MONEY)
    already_paid = models.DecimalField(**MONEY, default=0)
    debt = models.DecimalField(**MONEY)
    request = models.JSONField(default=dict, encoder=DjangoJSONEncoder,
                               help_text="The plan request as received, for re-building.")
    autopay = models.BooleanField(default=False)
    manager_id = models.BigIntegerField(null=True, blank=True)
    created_by = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deal", "version"], name="schedule_version_unique"),
            models.UniqueConstraint(fields=["deal"], condition=Q(is_active=True),
                                    name="schedule_one_active_per_deal"),
            models.CheckConstraint(condition=Q(total__gt=0), name="schedule_total_positive"),
            models.CheckConstraint(condition=Q(already_paid__gte=0) & Q(already_paid__lt=F("total")),
                                   name="schedule_already_paid_below_total"),
            models.CheckConstraint(condition=Q(debt=F("total") - F("already_paid")),
                                   name="schedule_debt_is_total_less_paid"),
        ]


class Installment(models.Model):
    class Kind(models.TextChoices):
        DOWN_PAYMENT = "down_payment"
        REGULAR = "regular"
        EXTRA = "extra"
        FEE = "fee"

    schedule = models.ForeignKey(Schedule, on_delete=models.PROTECT, related_name="installments")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    label = models.CharField(max_length=255, blank=True)
    due_date = models.DateField()
    amount = models.DecimalField(**MONEY)
    interest = models.DecimalField(**MONEY, default=0, help_text="The part of `amount` that is interest.")
    paid = models.DecimalField(**MONEY, default=0, help_text="Sum of allocations, kept by the allocator.")

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "seq"], name="installment_seq_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="installment_amount_positive"),
            models.CheckConstraint(condition=Q(paid__gte=0) & Q(paid__lte=F("amount")),
                                   name="installment_paid_within_amount"),
            models.CheckConstraint(condition=Q(interest__gte=0) & Q(interest__lte=F("amount")),
                                   name="installment_interest_within_amount"),
        ]
        indexes = [models.Index(fields=["due_date"])]


class Payment(models.Model):
    """A fact: money that moved. Never edited or deleted; a refund is its own negative entry."""

    class Method(models.TextChoices):
        CLOUDPAYMENTS = "cloudpayments"
        YOOKASSA = "yookassa"
        CASH = "cash"
        BANK_TRANSFER = "bank_transfer"
        CARD_TERMINAL = "card_terminal"
        CARD_TOKEN = "card_token"
        OPENING_BALANCE = "opening_balance"
        OTHER = "other"

    # Money a manager typed in: a mistake in it is corrected by a storno.
    REVERSIBLE_METHODS = (Method.CASH, Method.BANK_TRANSFER, Method.CARD_TERMINAL, Method.OTHER)
    # Money that moved through CloudPayments: it goes back to the card through the gateway.
    REFUNDABLE_METHODS = (Method.CLOUDPAYMENTS, Method.CARD_TOKEN, Method.YOOKASSA)

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="payments")
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(**MONEY)
    method = models.CharField(max_length=16, choices=Method.choices)
    paid_at = models.DateField(help_text="The day the money arrived, in the account's time zone.")
    # NULL, not "", for "none": the partial unique constraints below must ignore absent keys.
    transaction_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    refund_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="refunds")
    reversal_of = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="reversal",
                                       help_text="The mistaken payment this storno cancels (at most one storno each).")
    correction_reason = models.TextField(blank=True, help_text="Why a storno or a refund was made, as the user said.")
    invoice = models.ForeignKey("Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="payments")
    card_token = EncryptedTextField(blank=True, help_text="CloudPayments card token, for autopay")
    comment = models.TextField(blank=True)
    recorded_by = models.BigIntegerField(null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    receipt_status = models.CharField(max_length=16, blank=True, help_text="'', pending, queued, failed")
    receipt_id = models.CharField(max_length=64, blank=True)
    receipt_attempts = models.PositiveSmallIntegerField(default=0)
    receipt_error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["paid_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="payment_amount_not_zero"),
            models.CheckConstraint(
                condition=(Q(amount__gt=0) | Q(refund_of__isnull=False) | Q(reversal_of__isnull=False)
                           | Q(method="opening_balance")),
                name="payment_negative_only_refund_storno_or_opening"),
            models.CheckConstraint(condition=Q(refund_of__isnull=True) | Q(reversal_of__isnull=True),
                                   name="payment_refund_or_storno_not_both"),
            models.CheckConstraint(
                condition=(Q(refund_of__isnull=True) & Q(reversal_of__isnull=True)) | Q(amount__lt=0),
                name="payment_correction_is_negative"),
            models.UniqueConstraint(fields=["account", "transaction_id"],
                                    condition=Q(transaction_id__isnull=False),
                                    name="payment_transaction_unique_per_account"),
            models.UniqueConstraint(fields=["account", "idempotency_key"],
                                    condition=Q(idempotency_key__isnull=False),
                                    name="payment_idempotency_key_unique_per_account"),
        ]
        # Analytics' received rows are paged by keyset on (paid_at, id) within the account.
        indexes = [models.Index(fields=["account", "paid_at", "id"], name="payment_account_paid_at_id")]


class RefundRequest(models.Model):
    """A refund asked for from the card, written (and committed) before the gateway is called; the outcome
    is recorded afterwards, and the gateway's Refund notification finds it by the refund's TransactionId."""

    class Status(models.TextChoices):
        PENDING = "pending"  # committed, the gateway not answered yet (or the answer was lost)
        SUCCEEDED = "succeeded"
        REJECTED = "rejected"  # the gateway said no; nothing moved

    OPEN_STATUSES = (Status.PENDING,)

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="refund_requests")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refund_requests")
    amount = models.DecimalField(**MONEY)
    reason = models.TextField()
    requested_by = models.BigIntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=128, help_text="X-Request-ID sent to the gateway.")
    idempotency_key = models.CharField(max_length=255, null=True, blank=True,  # noqa: DJ001
                                       help_text="The widget's Idempotency-Key: a repeated click is this request.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # NULL, not "", until the gateway names the refund: the unique constraint must ignore absent ids.
    refund_transaction_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    refund = models.OneToOneField(Payment, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="refund_request", help_text="The negative payment recorded for it.")
    error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_request_amount_positive"),
            models.UniqueConstraint(fields=["account", "request_id"], name="refund_request_id_unique"),
            models.UniqueConstraint(fields=["account", "idempotency_key"], condition=Q(idempotency_key__isnull=False),
                                    name="refund_request_idempotency_key_unique"),
            models.UniqueConstraint(fields=["account", "refund_transaction_id"],
                                    condition=Q(refund_transaction_id__isnull=False),
                                    name="refund_request_transaction_unique"),
        ]


class Allocation(models.Model):
    """The part of a payment that covers an installment of the active schedule."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    installment = models.ForeignKey(Installment, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(**MONEY)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["payment", "installment"], name="allocation_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
        ]


class InvoiceCounter(models.Model):
    """Gapless invoice numbering: one row per account and year, incremented under a row lock."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="invoice_counters")
    year = models.PositiveIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "year"], name="invoice_counter_unique")]


class ContractCounter(models.Model):
    """Gapless contract numbering, like invoices': one row per account and year, incremented under a row lock."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="contract_counters")
    year = models.PositiveIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "year"], name="contract_counter_unique")]


class Invoice(models.Model):
    class Status(models.TextChoices):
        CREATING = "creating"  # row written, gateway order not confirmed yet
        ISSUED = "issued"
        PAID = "paid"
        CANCELLED = "cancelled"
        EXPIRED = "expired"
        FAILED = "failed"  # the gateway refused to create the order; the reason is kept

    LIVE_STATUSES = (Status.CREATING, Status.ISSUED)

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="invoices")
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="invoices")
    installment = models.ForeignKey(Installment, on_delete=models.PROTECT, related_name="invoices")
    year = models.PositiveIntegerField()
    sequence = models.PositiveIntegerField()
    number = models.CharField(max_length=32)
    amount = models.DecimalField(**MONEY)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATING)
    # «Оплатить всё» from the client page: one invoice for the whole remaining debt (tied to the last unpaid line).
    covers_remainder = models.BooleanField(default=False)
    # The gateway the order was made on: a switch of the account's gateway keeps each invoice's own.
    gateway = models.CharField(max_length=16, default="cloudpayments")
    # The SBP payment of a YooKassa invoice (the client page's «Оплатить через СБП»), made on first ask.
    sbp_order_id = models.CharField(max_length=128, blank=True)
    sbp_url = models.URLField(max_length=500, blank=True)
    gateway_request_id = models.CharField(max_length=128, blank=True)
    gateway_attempt = models.PositiveSmallIntegerField(default=1)
    gateway_order_id = models.CharField(max_length=128, blank=True)
    gateway_cancel_pending = models.BooleanField(default=False)
    payment_url = models.URLField(max_length=500, blank=True)
    paid_amount = models.DecimalField(**MONEY, default=0)
    last_failure_reason = models.CharField(max_length=255, blank=True)
    last_failure_code = models.IntegerField(null=True, blank=True)
    failed_attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "year", "sequence"], name="invoice_number_unique"),
            models.UniqueConstraint(fields=["account", "number"], name="invoice_number_text_unique"),
            models.UniqueConstraint(fields=["installment"], condition=Q(status__in=["creating", "issued"]),
                                    name="invoice_one_live_per_installment"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_amount_positive"),
            models.CheckConstraint(condition=Q(sequence__gt=0), name="invoice_sequence_positive"),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]


class ScheduleProposal(models.Model):
    """A new plan a manager offers the client (or an early payoff the client previews): it becomes the active
    version only when the client approves it, and only while the version it was made against is still active."""

    class Kind(models.TextChoices):
        RESTRUCTURE = "restructure"
        EARLY_PAYOFF = "early_payoff"

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        DECLINED = "declined"
        WITHDRAWN = "withdrawn"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="schedule_proposals")
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="schedule_proposals")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.RESTRUCTURE)
    base_schedule = models.ForeignKey(Schedule, on_delete=models.PROTECT, related_name="+")
    request = models.JSONField(encoder=DjangoJSONEncoder, help_text="The full plan request (schedule_request_full).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    proposed_by = models.BigIntegerField(null=True, blank=True, help_text="The CRM user who proposed it.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=255, blank=True, help_text="Who approved or declined: the client.")
    schedule = models.ForeignKey(Schedule, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 help_text="The version an approval made active.")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["deal", "status"])]


class ClientRegistration(models.Model):
    """A client's sign-up from the account's registration form: the CRM adapter makes the contact and lead
    (once: `crm_external_id` is stored the moment it is known), then billing builds the plan on that lead."""

    class Status(models.TextChoices):
        PENDING = "pending"  # waiting for the CRM lead
        DONE = "done"  # deal and plan exist
        FAILED = "failed"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="client_registrations")
    submission_key = models.CharField(max_length=64, help_text="The form's one-time id: a resubmit is the same row.")
    name = models.CharField(max_length=255)
    phone = models.CharField(max_length=64)
    email = models.CharField(max_length=254)
    template_key = models.CharField(max_length=64)
    consent_text = models.TextField(help_text="The 152-FZ consent text exactly as the client saw and accepted it.")
    consent_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    crm_contact_id = models.BigIntegerField(null=True, blank=True)
    crm_external_id = models.BigIntegerField(null=True, blank=True)
    deal = models.ForeignKey(Deal, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    error = models.CharField(max_length=255, blank=True)
    # The CRM could not take the sign-up for a passing reason (down, timing out, not connected): the relay
    # tries again from `crm_retry_at` (backoff up to an hour), never giving up while the reason may pass.
    crm_attempts = models.PositiveIntegerField(default=0)
    crm_retry_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "submission_key"],
                                               name="client_registration_once_per_submission")]


class IdempotencyRecord(models.Model):
    """The first answer to a write sent with an Idempotency-Key, replayed for repeats."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.TextField(help_text="The rendered JSON, replayed byte for byte.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="idempotency_key_unique")]


class DomainEvent(models.Model):
    """What happened in the money core (payment_recorded, deal_paid, ...), written in the same transaction."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="events")
    name = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "name"])]


class EventDelivery(models.Model):
    """One registered handler's delivery of one domain event: the outbox row the relay claims, retries with
    backoff and finally marks done or dead (a visible dead letter that `payplan_events_replay` re-queues)."""

    class State(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"  # claimed by a relay until lease_expires_at; claimed again after it
        DONE = "done"
        DEAD = "dead"

    OPEN_STATES = (State.PENDING, State.RUNNING)

    event = models.ForeignKey(DomainEvent, on_delete=models.CASCADE, related_name="deliveries")
    handler = models.CharField(max_length=64)
    # Deliveries of an ordered handler that share a key (e.g. one deal's CRM feed) run in event order.
    ordering_key = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["event", "handler"], name="event_delivery_once_per_handler")]
        # Partial: done rows pile up over the years, the open ones stay few.
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(state__in=["pending", "running"]),
                         name="event_delivery_open_due"),
            models.Index(fields=["handler", "ordering_key", "id"],
                         condition=Q(state__in=["pending", "running"]) & ~Q(ordering_key=""),
                         name="event_delivery_open_ordered"),
            models.Index(fields=["handler"], condition=Q(state="dead"), name="event_delivery_dead"),
        ]

    def __str__(self) -> str:
        return f"{self.handler} of event {self.event_id} ({self.state})"


class GatewayEvent(models.Model):
    """A CloudPayments notification exactly as it arrived, stored before anything is done with it."""

    class Status(models.TextChoices):
        RECEIVED = "received"
        PROCESSED = "processed"
        REJECTED = "rejected"  # bad signature: never processed
        INVALID = "invalid"  # signed, but the fields make no sense: nothing recorded
        UNMATCHED = "unmatched"  # signed and sound, but names no invoice of ours: for operators
        FAILED = "failed"  # processing raised; replay with payplan_webhook_replay
        TEST_MODE = "test_mode"  # signed, but TestMode on a live account: shown, never counted as money

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="gateway_events")
    gateway = models.CharField(max_length=16, default="cloudpayments")
    kind = models.CharField(max_length=32, help_text="CloudPayments: pay, check, …; YooKassa: the event name")
    transaction_id = models.CharField(max_length=64, blank=True)
    signature_valid = models.BooleanField(default=False)
    content_type = models.CharField(max_length=100, blank=True)
    raw_body = models.BinaryField(help_text="The whole body when signed; only its head when not.")
    body_sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 (hex) of the whole body.")
    body_size = models.PositiveIntegerField(default=0, help_text="Size of the whole body in bytes.")
    headers = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    answer_code = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="gateway_events")
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    replays = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            # Check is validated afresh every time; every other kind happens once per transaction.
            models.UniqueConstraint(fields=["account", "kind", "transaction_id"],
                                    condition=Q(signature_valid=True) & ~Q(transaction_id="") & ~Q(kind="check"),
                                    name="gateway_event_once_per_transaction"),
        ]
        indexes = [models.Index(fields=["account", "status"])]


class SavedCard(models.Model):
    """A client's card token for autopay: captured from a Pay notification, charged only after the client's
    recorded consent, on the terminal that issued it. One usable card per deal."""

    class Status(models.TextChoices):
        OFFERED = "offered"  # the token arrived with a payment; no consent yet, never charged
        ACTIVE = "active"  # consent recorded: lines of an autopay plan are charged on their due dates
        DISABLED = "disabled"  # switched off by the manager or the client
        REVOKED = "revoked"  # the bank said never charge it again (hard decline, expired card)
        REPLACED = "replaced"  # another card of the same deal was switched on

    USABLE = (Status.ACTIVE,)

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="saved_cards")
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="saved_cards")
    gateway = models.CharField(max_length=16, default="cloudpayments")
    token = EncryptedTextField(help_text="CloudPayments card token, or YooKassa saved payment_method.id")
    token_digest = models.CharField(max_length=64, help_text="HMAC of the token: found without decrypting")
    public_id = models.CharField(max_length=128, help_text="The terminal that issued the token; usable only there")
    gateway_account_id = models.CharField(max_length=255, help_text="AccountId the token was made with")
    card_first_six = models.CharField(max_length=6, blank=True)
    card_last_four = models.CharField(max_length=4, blank=True)
    card_exp = models.CharField(max_length=5, blank=True, help_text="MM/YY, as the gateway sends it")
    card_type = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OFFERED)
    source_payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="saved_cards")
    consent_text = models.TextField(blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    consent_source = models.CharField(max_length=32, blank=True, help_text="invoice_link, client_page, ...")
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_by = models.CharField(max_length=64, blank=True, help_text="manager:<amo user id>, client, bank")
    status_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "token_digest"], name="saved_card_token_once_per_account"),
            models.UniqueConstraint(fields=["deal"], condition=Q(status="active"),
                                    name="saved_card_one_active_per_deal"),
            models.CheckConstraint(condition=~Q(status="active") | Q(consented_at__isnull=False) & ~Q(consent_text=""),
                                   name="saved_card_active_has_consent"),
        ]


class ChargeAttempt(models.Model):
    """One token charge of one installment. Committed before the gateway is called, so its X-Request-ID
    (`charge:<account>:<installment>:<attempt>`) survives a crash and a repeat tick sends the same request."""

    class Status(models.TextChoices):
        SENDING = "sending"  # written, the gateway is being (or was, with no answer yet) called
        SUCCEEDED = "succeeded"
        DECLINED = "declined"  # soft decline: retried on `retry_on`
        FALLBACK = "fallback"  # given up: the line goes to the ordinary invoice link
        SKIPPED = "skipped"  # the line was paid before the request left

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="charge_attempts")
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="charge_attempts")
    installment = models.ForeignKey(Installment, on_delete=models.PROTECT, related_name="charge_attempts")
    card = models.ForeignKey(SavedCard, on_delete=models.PROTECT, related_name="charge_attempts")
    attempt = models.PositiveSmallIntegerField()
    request_id = models.CharField(max_length=128)
    reference = models.CharField(max_length=64, help_text="Sent as InvoiceId: finds the charge's notifications")
    amount = models.DecimalField(**MONEY)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SENDING)
    charge_date = models.DateField(help_text="The account's day the attempt was made")
    retry_on = models.DateField(null=True, blank=True)
    transaction_id = models.CharField(max_length=64, blank=True)
    reason_code = models.IntegerField(null=True, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="charge_attempts")
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="charge_attempts", help_text="The fallback link, once issued")
    failure_published_at = models.DateTimeField(null=True, blank=True,
                                                help_text="When the client and the manager were told (once)")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["installment", "attempt"], name="charge_attempt_once_per_number"),
            models.UniqueConstraint(fields=["account", "request_id"], name="charge_attempt_request_unique"),
            models.UniqueConstraint(fields=["account", "reference"], name="charge_attempt_reference_unique"),
            models.UniqueConstraint(fields=["installment"], condition=Q(status="sending"),
                                    name="charge_attempt_one_in_flight_per_line"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="charge_attempt_amount_positive"),
        ]
        indexes = [models.Index(fields=["account", "status"])]


class Payout(models.Model):
    """One line of an outgoing plan come due: the accountant's task on its date, recorded once as a payment
    when the accountant completes that task in the CRM (the CRM side finds the completion and calls
    `payout_complete`)."""

    class State(models.TextChoices):
        DUE = "due"  # the task is out; waiting for the accountant
        PAID = "paid"  # the task was completed and the payout recorded
        CLOSED = "closed"  # completed with nothing left to pay (paid by hand meanwhile), nothing recorded

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="payouts")
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="payouts")
    installment = models.ForeignKey(Installment, on_delete=models.PROTECT, related_name="payouts")
    due_date = models.DateField()
    amount = models.DecimalField(**MONEY, help_text="What was left of the line when its task went out.")
    recipient = models.CharField(max_length=255, blank=True)
    requisites = models.TextField(blank=True)
    assignee_user_id = models.BigIntegerField(null=True, blank=True, help_text="The accountant role's CRM user.")
    state = models.CharField(max_length=8, choices=State.choices, default=State.DUE)
    overdue_alerted_at = models.DateTimeField(null=True, blank=True)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    completed_by = models.BigIntegerField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Automatic payout through YooKassa Payouts (billing.services.payouts_auto): never before approval.
    approved_by = models.BigIntegerField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    gateway_payout_id = models.CharField(max_length=64, blank=True)
    gateway_status = models.CharField(max_length=16, blank=True, help_text="sending | pending | succeeded | "
                                                                         "canceled | unknown")
    gateway_failure = models.CharField(max_length=64, blank=True, help_text="cancellation_details.reason")
    gateway_attempt = models.PositiveSmallIntegerField(default=0, help_text="Part of the Idempotence-Key: grows "
                                                                           "only after a final failure.")

    class Meta:
        ordering = ["deal_id", "due_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["installment"], name="payout_once_per_installment"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
        ]
        indexes = [models.Index(fields=["account", "state"], name="payout_account_state")]

    def __str__(self) -> str:
        return f"payout {self.amount} of lead {self.deal_id} due {self.due_date} ({self.state})"


class PayoutDestination(models.Model):
    """Where an outgoing plan's automatic payouts go (YooKassa Payouts `payout_destination_data` / token):
    SBP (phone + bank id from /sbp_banks), a card by its payout token (from YooKassa's payout widget; PayPlan
    never stores a card number), or a YooMoney wallet. `auto` off: the accountant pays by hand as before."""

    class Kind(models.TextChoices):
        SBP = "sbp"
        BANK_CARD = "bank_card"
        YOO_MONEY = "yoo_money"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    deal = models.OneToOneField(Deal, on_delete=models.CASCADE, related_name="payout_destination")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    phone = models.CharField(max_length=16, blank=True)
    bank_id = models.CharField(max_length=12, blank=True)
    payout_token = models.CharField(max_length=255, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    account_number = models.CharField(max_length=32, blank=True)
    auto = models.BooleanField(default=False, help_text="Pay each approved payout through YooKassa on its date.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"payout destination {self.kind} of deal {self.deal_id}"


class BankStatement(models.Model):
    """One uploaded 1C bank statement file; the same bytes uploaded again are the same statement."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="bank_statements")
    file_hash = models.CharField(max_length=64, help_text="SHA-256 of the uploaded bytes.")
    file_name = models.CharField(max_length=255, blank=True)
    bank_account = models.CharField(max_length=34, help_text="Our account the statement is for.")
    encoding = models.CharField(max_length=16)
    date_from = models.DateField(null=True, blank=True)
    date_to = models.DateField(null=True, blank=True)
    documents_total = models.PositiveIntegerField(default=0)
    documents_new = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=8, default="1c",
                              help_text="1c (a bank statement) | xlsx | csv (a payment sheet: one payment a row).")
    row_errors = models.JSONField(default=list, blank=True,
                                  help_text="Sheet rows left out: [{row, column, code, value}], rendered via gettext.")
    uploaded_by = models.BigIntegerField(null=True, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["account", "file_hash"], name="bank_statement_once_per_file")]


class BankDocument(models.Model):
    """An incoming credit from a statement, once per account however many overlapping files repeat it."""

    class Status(models.TextChoices):
        NEW = "new"
        CONFIRMED = "confirmed"
        SKIPPED = "skipped"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="bank_documents")
    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="documents",
                                  help_text="The first statement that brought this document.")
    bank_account = models.CharField(max_length=34)
    number = models.CharField(max_length=64)
    doc_date = models.DateField()
    credit_date = models.DateField()
    amount = models.DecimalField(**MONEY)
    payer_account = models.CharField(max_length=34, blank=True)
    payer_inn = models.CharField(max_length=12, blank=True)
    payer_name = models.CharField(max_length=255, blank=True)
    purpose = models.TextField(blank=True)
    kind = models.CharField(max_length=64, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    suggested_deal = models.ForeignKey(Deal, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    suggested_installment = models.ForeignKey(Installment, null=True, blank=True, on_delete=models.PROTECT,
                                              related_name="+")
    suggested_invoice = models.ForeignKey("Invoice", null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="+")
    confidence = models.PositiveSmallIntegerField(default=0, help_text="0–100; 90 and above is an exact match.")
    match_reasons = models.JSONField(default=list, blank=True, help_text="Reason codes, rendered via gettext.")
    payment = models.OneToOneField(Payment, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="bank_document", help_text="The payment confirming made (audit link).")
    decided_by = models.BigIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    row = models.PositiveIntegerField(null=True, blank=True,
                                      help_text="A payment sheet's row (as the spreadsheet numbers it); null for 1C.")
    method = models.CharField(max_length=16, blank=True, help_text="A sheet row's payment method; 1C: bank_transfer.")
    history = models.JSONField(default=list, blank=True, help_text="Payments this document made and lost to a "
                               "storno: [{payment_id, storno_id, reason, by, at}] (the audit trail after a reversal).")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "bank_account", "number", "doc_date", "payer_account", "amount"],
                                    condition=Q(row__isnull=True), name="bank_document_once_per_account"),
            models.UniqueConstraint(fields=["statement", "row"], condition=Q(row__isnull=False),
                                    name="bank_document_once_per_sheet_row"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="bank_document_amount_positive"),
        ]


# --- Analytics rollup [I]: an account's money by day, kept by database triggers and a fold job ------------------
# billing/rollup_sql.py has the triggers and the statements; billing/services/analytics_rollup.py folds.
class _RollupFigures(models.Model):
    """The figures of one day for one slice (direction, group, education direction, manager) of an account:
    the active plans' lines due that day (all of them, and the open ones with their unpaid remainder) and the
    payments received that day (opening balances left out), cancelled deals left out — what the analytics
    selectors filter, summed."""
    account_id = models.BigIntegerField()
    direction = models.CharField(max_length=16)
    deal_group = models.CharField(max_length=255)
    education_direction = models.CharField(max_length=255)
    manager_id = models.BigIntegerField(null=True)
    day = models.DateField()
    due_amount = models.DecimalField(**MONEY, default=0)
    due_count = models.BigIntegerField(default=0)
    open_amount = models.DecimalField(**MONEY, default=0)
    open_count = models.BigIntegerField(default=0)
    received_amount = models.DecimalField(**MONEY, default=0)
    received_count = models.BigIntegerField(default=0)
    # Of the lines due that day: what payments dated on or before the due date hold of them now, and how many
    # such payments paid in full (the collection rate).
    on_time_amount = models.DecimalField(**MONEY, default=0)
    on_time_count = models.BigIntegerField(default=0)
    # Of the payments received that day: the interest of interest plans they paid (a payment covers a line's
    # interest before its principal, in payment order).
    received_interest = models.DecimalField(**MONEY, default=0)

    class Meta:
        abstract = True


class AnalyticsDayTotal(_RollupFigures):
    """The account's figures by day and slice: the sum of its deals' `AnalyticsDealDay` rows (written only by
    the fold, so payments never wait on each other for it)."""

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["account_id", "direction", "deal_group", "education_direction", "manager_id", "day"],
            nulls_distinct=False, name="analytics_day_total_once")]


class AnalyticsDealDay(_RollupFigures):
    """What one deal added to `AnalyticsDayTotal` when it was last folded."""
    deal_id = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["deal_id"], name="analytics_deal_day_deal")]


class AnalyticsStaleDeal(models.Model):
    """A deal whose lines, plan, payments or analytics fields changed since it was last folded: written by the
    triggers in the changing transaction; the fold deletes it. Readers recount stale deals live, so the figures
    are exact whether the fold has run or not."""
    id = models.BigAutoField(primary_key=True)
    deal_id = models.BigIntegerField()
    account_id = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["account_id", "deal_id"], name="analytics_stale_account")]
