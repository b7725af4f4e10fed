"""The CRM outbox's rows: what a CRM must be told, CRM-neutral; each adapter delivers its accounts' rows.

The table keeps its first name (widget_api_crmaction): the model moved here from widget_api without a copy.
"""
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from billing.models import Account, Deal, DomainEvent


class CrmAction(models.Model):
    """One thing the deal's CRM must be told, written in the transaction of the change that causes it.

    Delivered in id order per deal; a note or task whose CRM id is known is never sent again.
    """

    class Kind(models.TextChoices):
        UPDATE_FIELDS = "update_fields"
        ADD_NOTE = "add_note"
        CREATE_TASK = "create_task"
        MOVE_TO_COMPLETED = "move_to_completed"
        FETCH_LEAD = "fetch_lead"
        UPDATE_LEAD = "update_lead"  # stage and/or responsible user (collections: aging, hand to the lawyer)
        UPDATE_CONTACT = "update_contact"  # the client corrected name/phone/email on their page: the main contact
        # The one running summary note of a deal (payout plans: total / paid out / left): created once, then
        # edited in place (PATCH) with the id the first one got.
        SUMMARY_NOTE = "summary_note"

    class State(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"  # claimed by a worker until lease_expires_at
        DONE = "done"
        DEAD = "dead"  # given up; last_error says why; payplan_crm_retry re-queues

    OPEN_STATES = (State.PENDING, State.SENDING)

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="crm_actions")
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="crm_actions")
    external_id = models.BigIntegerField()  # the deal's id in its CRM (a copy of Deal.external_id)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    payload = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    source = models.CharField(max_length=64, blank=True, help_text="The event or caller that asked for it.")
    # The domain event the relay's CRM feed turned into this action: one action of a kind per event, so a
    # feed run again after a crash adds nothing.
    event = models.ForeignKey(DomainEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # An earlier attempt may have reached the CRM (timeout, 5xx, killed worker): look before creating again.
    maybe_sent = models.BooleanField(default=False)
    send_alone = models.BooleanField(default=False, help_text="Refused inside a batch: sent by itself next.")
    last_error = models.TextField(blank=True)
    crm_entity_id = models.BigIntegerField(null=True, blank=True, help_text="The note or task id the CRM gave.")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "widget_api_crmaction"
        ordering = ["deal_id", "id"]
        constraints = [
            # One waiting lead fetch per deal is enough: later hooks for the same lead add nothing to it.
            # (One being sent may have read the lead already, so another may wait behind it.)
            models.UniqueConstraint(fields=["deal"], condition=Q(kind="fetch_lead", state="pending"),
                                    name="crm_action_one_waiting_fetch_per_deal"),
            models.UniqueConstraint(fields=["event", "kind"], condition=Q(event__isnull=False),
                                    name="crm_action_once_per_event_and_kind"),
        ]
        # Partial: done and dead rows pile up over the years, the open ones stay few.
        indexes = [
            models.Index(fields=["account", "next_attempt_at"], condition=Q(state__in=["pending", "sending"]),
                         name="crm_action_open_by_account"),
            models.Index(fields=["deal", "id"], condition=Q(state__in=["pending", "sending"]),
                         name="crm_action_open_by_deal"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} deal {self.external_id} ({self.state})"
