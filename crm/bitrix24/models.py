"""A Bitrix24 portal PayPlan is installed in: where it lives, its rotating token pair, its install state."""
from django.db import models
from django.utils import timezone

from billing.encryption import EncryptedTextField


class Portal(models.Model):
    """One portal, keyed by `member_id` (stable across address changes); the domain follows renames."""

    class Status(models.TextChoices):
        INSTALLED = "installed"
        NEEDS_REINSTALL = "needs_reinstall"  # the refresh token is dead: a user opens the app, or an admin reinstalls
        UNINSTALLED = "uninstalled"  # ONAPPUNINSTALL: tokens dead, actions parked until a reinstall

    member_id = models.CharField(max_length=64, unique=True)
    # The PayPlan account (tenant) this portal is; linked by the lead's wiring once billing is CRM-neutral.
    account = models.OneToOneField("billing.Account", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="bitrix24_portal")
    domain = models.CharField(max_length=255, help_text="The portal's host, e.g. example.bitrix24.ru")
    previous_domains = models.JSONField(default=list, blank=True, help_text="Hosts it had before a rename.")
    client_endpoint = models.CharField(max_length=255, help_text="https://{domain}/rest/")
    server_endpoint = models.CharField(max_length=255, blank=True)
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Bumped on every new pair: a worker tells "someone refreshed already" without comparing secrets.
    token_version = models.PositiveIntegerField(default=0)
    # One refresh per portal at a time, without holding a row lock across the call to the oauth server:
    # the refresher writes its claim and commits, calls, then re-locks and stores only under its claim.
    refresh_claim = models.CharField(max_length=32, blank=True)
    refresh_claimed_until = models.DateTimeField(null=True, blank=True)
    application_token = EncryptedTextField(blank=True, help_text="Proves events and frames come from this install.")
    scope = models.CharField(max_length=255, blank=True)
    plan_status = models.CharField(max_length=1, blank=True, help_text="L local, F free, D demo, T trial, P paid")
    installer_user_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INSTALLED)
    status_reason = models.CharField(max_length=255, blank=True)
    # Bumped on every (re-)installation: work checked against one install is not applied to a later one.
    install_generation = models.PositiveIntegerField(default=0)
    # What the install set up: {"fields": {payplan key: UF_CRM_… name}, "events": [...], "placement": url}.
    setup = models.JSONField(default=dict, blank=True)
    installed_at = models.DateTimeField(default=timezone.now)
    uninstalled_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.domain} ({self.member_id}, {self.status})"

    @property
    def is_installed(self) -> bool:
        return self.status == self.Status.INSTALLED
