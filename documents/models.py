"""Documents' data: accounts' own templates, rendered PDFs kept in storage, emails sent with them."""
from django.db import models

from billing.models import Account
from documents.kinds import Kind


class DocumentTemplate(models.Model):
    """An account's own template for one kind of document; without one, the default file is used."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="document_templates")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    source = models.TextField()
    updated_by = models.BigIntegerField(null=True, blank=True, help_text="amoCRM user id")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "kind"], name="document_template_per_kind")]


class StoredDocument(models.Model):
    """The last PDF rendered for an invoice, payment or deal. `fingerprint` hashes the template and the
    data it was made from, so a change to either makes the next request render afresh."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="stored_documents")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.BigIntegerField(help_text="Invoice id, Payment id or Deal id, by kind")
    fingerprint = models.CharField(max_length=64)
    file_name = models.CharField(max_length=255, help_text="Name in the documents storage")
    size = models.PositiveIntegerField()
    pages = models.PositiveIntegerField()
    rendered_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "kind", "object_id"],
                                               name="stored_document_once_per_object")]


class DocumentEmail(models.Model):
    """One email of a document to the client: claimed before sending, so a repeated task sends nothing."""

    class Status(models.TextChoices):
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        SKIPPED = "skipped"  # nobody to send to (no client email)

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="document_emails")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.BigIntegerField()
    recipient = models.CharField(max_length=254, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=255, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "kind", "object_id"],
                                               name="document_email_once_per_object")]


class ClientNotice(models.Model):
    """One plain email to a client that has no document of its own (a declined payment and its link),
    claimed before sending under a unique key, so a relay that runs twice sends it once."""

    class Status(models.TextChoices):
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        SKIPPED = "skipped"  # nobody to send to (no client email) or nothing left to pay

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="client_notices")
    key = models.CharField(max_length=128, help_text="e.g. autopay_failed:<attempt id>")
    recipient = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=255, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="client_notice_once_per_key")]
