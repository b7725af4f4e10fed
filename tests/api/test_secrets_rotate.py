"""Rotating the Fernet keys [I]: payplan_secrets_rotate re-encrypts every stored secret under the newest key,
after which the old key can leave PAYPLAN_FERNET_KEYS (without the command, dropping it loses the secrets)."""
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from billing.models import Account
from billing.services import account_create

pytestmark = pytest.mark.django_db
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _secret(account_id: int) -> str:
    return Account.objects.get(pk=account_id).cloudpayments_api_secret


def test_after_the_rotation_only_the_new_key_is_needed(settings):
    settings.PAYPLAN_FERNET_KEYS = [OLD]
    account = account_create(crm_account_id=777001, slug="rotated", cloudpayments_public_id="pk_r",
                             cloudpayments_api_secret="the-api-secret")
    settings.PAYPLAN_FERNET_KEYS = [NEW, OLD]
    out = StringIO()
    call_command("payplan_secrets_rotate", "--batch-size", "1", stdout=out)
    assert "billing.Account.cloudpayments_api_secret: 1 re-encrypted" in out.getvalue()
    call_command("payplan_secrets_rotate", stdout=StringIO())  # twice is harmless
    settings.PAYPLAN_FERNET_KEYS = [NEW]
    assert _secret(account.pk) == "the-api-secret"


def test_without_the_rotation_dropping_the_old_key_loses_the_secret(settings):
    settings.PAYPLAN_FERNET_KEYS = [OLD]
    account = account_create(crm_account_id=777002, slug="unrotated", cloudpayments_public_id="pk_u",
                             cloudpayments_api_secret="the-api-secret")
    settings.PAYPLAN_FERNET_KEYS = [NEW]
    with pytest.raises(ImproperlyConfigured):
        _secret(account.pk)
