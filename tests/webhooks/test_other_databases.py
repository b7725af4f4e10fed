"""The Pay hot path and the webhook's prepared account read speak PostgreSQL; `make run`'s zero-config SQLite
(or any other database) takes the general ORM paths, which every other test covers."""
import pytest
from django.db import connection

from billing.services import pay_hot_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def elsewhere(monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")


def test_on_postgresql_the_hot_path_is_on_and_the_account_is_read_prepared(account):
    assert pay_hot_path.pay_hot_path_enabled()
    assert pay_hot_path.account_by_webhook_key(account.webhook_key) == account


def test_elsewhere_the_hot_path_is_off_and_the_account_is_read_by_the_orm(account, elsewhere, monkeypatch):
    monkeypatch.setattr(pay_hot_path, "_prepared_cursor", lambda: pytest.fail("a prepared statement off PostgreSQL"))
    assert not pay_hot_path.pay_hot_path_enabled()
    assert pay_hot_path.account_by_webhook_key(account.webhook_key) == account
    assert pay_hot_path.account_by_webhook_key("no-such-key") is None
