"""Dunning's data: per-account policy and channel keys, tracked lines, overdue facts, the send log."""
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from billing.encryption import EncryptedTextField
from billing.models import MONEY, Account, Deal, Installment, Schedule


class DunningPolicy(models.Model):
    """The account's ladder and hours, stored in the JSON form `domain.policy_parse` validates."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="dunning_policy")
    enabled = models.BooleanField(default=True)
    config = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    updated_at = models.DateTimeField(auto_now=True)


# Options that are provider secrets too (Telegram's webhook secret token, ...): written, never read back.
SECRET_OPTIONS = {"telegram": ("webhook_secret",)}
SECRET_OPTION_SUFFIXES = ("secret", "token", "password", "api_key", "api_id")


def is_secret_option(name: str) -> bool:
    """An option that holds a credential: answered only as «set / not set» (`<name>_set`)."""
    return any(name in names for names in SECRET_OPTIONS.values()) or str(name).lower().endswith(
        SECRET_OPTION_SUFFIXES)


class ChannelSettings(models.Model):
    """A provider's key for one account: encrypted at rest, never read back through the API.

    Secret options (`is_secret_option`, e.g. Telegram's `webhook_secret`) are write-only too: a save that
    does not send one keeps the stored value."""

    class Channel(models.TextChoices):
        SMS = "sms"
        WHATSAPP = "whatsapp"
        TELEGRAM = "telegram"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="dunning_channels")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    enabled = models.BooleanField(default=True)
    secret = EncryptedTextField(blank=True, help_text="SMS.ru api_id / WhatsApp bearer token / Telegram bot token")
    options = models.JSONField(default=dict, blank=True,
                               help_text="sender, phone_number_id, template name, bot username, webhook secret")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "channel"], name="dunning_channel_unique")]


class DunningLine(models.Model):
    """One instalment as the ladder knows it, keyed by (deal, seq, due date) so a plan rebuild re-targets
    it to the new version's row instead of starting the ladder over for the same money."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="dunning_lines")
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="dunning_lines")
    installment = models.ForeignKey(Installment, on_delete=models.PROTECT, related_name="dunning_lines")
    seq = models.PositiveIntegerField()
    due_date = models.DateField()
    shift_days = models.PositiveIntegerField(default=0, help_text="An accepted client postponement")
    paused_until = models.DateField(null=True, blank=True, help_text="Promised to pay on this date")
    postponed_at = models.DateTimeField(null=True, blank=True)
    client_claimed_paid_at = models.DateTimeField(null=True, blank=True)
    due_soon_published_at = models.DateTimeField(null=True, blank=True)
    # Every step recorded (or written off): the tick's ladder pass no longer reads this line.
    ladder_done_at = models.DateTimeField(null=True, blank=True)
    penalty_waived_at = models.DateTimeField(null=True, blank=True, help_text="No more fees after a waiver")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deal", "seq", "due_date"], name="dunning_line_unique")]
        indexes = [models.Index(fields=["account", "due_date"]),
                   models.Index(fields=["deal", "seq", "due_date"], condition=Q(ladder_done_at__isnull=False),
                                name="dunning_line_done_idx")]


class OverdueFact(models.Model):
    """A line went unpaid past the cut-off of its due date: recorded once, with how much and when."""

    line = models.OneToOneField(DunningLine, on_delete=models.PROTECT, related_name="overdue_fact")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="overdue_facts")
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="overdue_facts")
    recorded_at = models.DateTimeField()
    outstanding = models.DecimalField(**MONEY)
    debt = models.DecimalField(**MONEY)
    text = models.TextField()


class StepRun(models.Model):
    """One ladder step for one line: the unique row that makes a step happen at most once, and its log."""

    class Status(models.TextChoices):
        PLANNED = "planned"  # waits for send_after (quiet hours) and a worker
        SENDING = "sending"  # claimed by a worker; the provider call is in flight
        RETRYING = "retrying"  # a temporary failure; tried again at send_after
        SENT = "sent"
        FAILED = "failed"  # shown on the deal with the provider's reason
        SKIPPED = "skipped"  # missed during downtime: a later step was sent instead
        CANCELLED = "cancelled"  # the line was paid, paused or left the plan before sending

    OPEN_STATUSES = (Status.PLANNED, Status.RETRYING)

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="dunning_steps")
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="dunning_steps")
    line = models.ForeignKey(DunningLine, on_delete=models.PROTECT, related_name="steps")
    step_key = models.CharField(max_length=32)
    day = models.IntegerField()
    channel = models.CharField(max_length=24)
    step = models.JSONField(default=dict, help_text="The step as configured when planned")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLANNED)
    send_after = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    recipient = models.CharField(max_length=255, blank=True)
    text = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=128, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["line", "step_key"], name="dunning_step_once_per_line")]
        indexes = [models.Index(fields=["status", "send_after"], condition=Q(status__in=["planned", "retrying"]),
                                name="dunning_step_open_idx"),
                   models.Index(fields=["deal", "created_at"])]


class ClientAnswer(models.Model):
    """What a client said through an answer link: "I paid" or "pay on DATE"."""

    class Kind(models.TextChoices):
        PAID = "paid"
        POSTPONE = "postpone"

    line = models.ForeignKey(DunningLine, on_delete=models.PROTECT, related_name="answers")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="dunning_answers")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    requested_date = models.DateField(null=True, blank=True)
    accepted = models.BooleanField(default=False, help_text="A postponement within the limit shifted the ladder")
    created_at = models.DateTimeField(auto_now_add=True)


class TelegramChat(models.Model):
    """A client's Telegram chat bound to a deal by the bot's /start <signed token>."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="telegram_chats")
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="telegram_chats")
    chat_id = models.BigIntegerField()
    linked_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deal"], name="telegram_chat_one_per_deal")]


class CallOutcome(models.Model):
    """What a manager's call got: reached, no answer, wrong number, promised on a date, refused."""

    class Outcome(models.TextChoices):
        REACHED = "reached"
        NO_ANSWER = "no_answer"
        WRONG_NUMBER = "wrong_number"
        PROMISED = "promised"
        REFUSED = "refused"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="dunning_calls")
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="dunning_calls")
    line = models.ForeignKey(DunningLine, on_delete=models.PROTECT, related_name="calls")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    promised_on = models.DateField(null=True, blank=True)
    comment = models.TextField(blank=True)
    recorded_by = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class LadderDecision(models.Model):
    """The end of the ladder for a deal: to the lawyer, remind monthly, or write off. A record, never a
    deleted debt: the lines and their remainders stay as they are."""

    class Decision(models.TextChoices):
        LAWYER = "lawyer"
        MONTHLY = "monthly"
        WRITE_OFF = "write_off"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="dunning_decisions")
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="dunning_decisions")
    line = models.ForeignKey(DunningLine, on_delete=models.PROTECT, null=True, blank=True, related_name="decisions")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    reason = models.TextField(blank=True)
    debt = models.DecimalField(**MONEY, help_text="The deal's debt when decided")
    decided_by = models.BigIntegerField(null=True, blank=True, help_text="CRM user; null: the ladder itself")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class DealStage(models.Model):
    """The aging bucket a debtor deal was last moved for, so a lead moves once per bucket as it ages."""

    deal = models.OneToOneField(Deal, on_delete=models.CASCADE, related_name="dunning_stage")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="dunning_stages")
    bucket = models.CharField(max_length=24, blank=True)
    moved_at = models.DateTimeField()


class PenaltyCharge(models.Model):
    """A late fee added to a line on one day (unique: idempotent per line per day), or waived (negative)."""

    class Kind(models.TextChoices):
        CHARGE = "charge"
        WAIVER = "waiver"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="penalty_charges")
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="penalty_charges")
    line = models.ForeignKey(DunningLine, on_delete=models.PROTECT, related_name="penalty_charges")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.CHARGE)
    charged_on = models.DateField()
    amount = models.DecimalField(**MONEY, help_text="Added (charge) or removed (waiver, negative)")
    fee_seq = models.PositiveIntegerField(help_text="The fee line's seq in the schedule")
    schedule = models.ForeignKey(Schedule, on_delete=models.PROTECT, related_name="+",
                                 help_text="The schedule version this change made")
    reason = models.TextField()
    recorded_by = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["line", "charged_on"], condition=Q(kind="charge"),
                                               name="penalty_once_per_line_per_day")]
