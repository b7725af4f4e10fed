"""Secrets at rest: a text field encrypted with Fernet keys from settings (newest key first)."""
import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet(keys: tuple[str, ...], fallback_secret: str) -> MultiFernet:
    if not keys:
        # Local/demo only: derive a stable key from SECRET_KEY so zero-config runs work.
        derived = base64.urlsafe_b64encode(hashlib.sha256(fallback_secret.encode()).digest()).decode()
        keys = (derived,)
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured("PAYPLAN_FERNET_KEYS holds a key that is not a Fernet key.") from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.PAYPLAN_FERNET_KEYS), settings.SECRET_KEY)


def encrypt(plain: str) -> str:
    return fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("A stored secret cannot be decrypted with PAYPLAN_FERNET_KEYS.") from exc


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees the plain string. Not searchable by design."""

    def from_db_value(self, value, expression, connection):
        return value if value in (None, "") else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value in (None, "") else encrypt(value)
