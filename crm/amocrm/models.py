"""The amoCRM adapter's data: one OAuth connection per account, and the install states used once.

The tables keep their first names (widget_api_*): the models moved here from widget_api without a copy."""
from django.db import models
from django.utils import timezone

from billing.encryption import EncryptedTextField
from billing.models import Account


class CrmConnection(models.Model):
    """How PayPlan reaches one amoCRM account: its base URL and the current (rotating) token pair."""

    class Status(models.TextChoices):
        CONNECTED = "connected"
        NEEDS_REINSTALL = "needs_reinstall"  # the refresh token is dead: an admin must install again
        DISCONNECTED = "disconnected"  # the account switched the integration off

    account = models.OneToOneField(Account, on_delete=models.PROTECT, related_name="crm_connection")
    base_url = models.CharField(max_length=255, help_text="scheme://host of the account, e.g. https://x.amocrm.ru")
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Bumped on every new pair, so a worker can tell "someone refreshed already" without comparing secrets.
    token_version = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONNECTED)
    status_reason = models.CharField(max_length=255, blank=True)
    # Bumped on every (re-)installation: a revoke hook is acted on only for the installation it was
    # checked against, so a stale or replayed one cannot disconnect a later install.
    install_generation = models.PositiveIntegerField(default=0)
    connected_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "widget_api_crmconnection"

    def __str__(self) -> str:
        return f"{self.base_url} ({self.status})"

    @property
    def is_connected(self) -> bool:
        return self.status == self.Status.CONNECTED


class InstallStateUse(models.Model):
    """An OAuth `state` that has come back once: a second callback with it is refused."""

    nonce = models.CharField(max_length=64, unique=True)
    used_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        db_table = "widget_api_installstateuse"

    def __str__(self) -> str:
        return f"state {self.nonce} used {self.used_at:%Y-%m-%d %H:%M}"
