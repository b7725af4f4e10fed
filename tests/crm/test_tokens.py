"""Rotating refresh tokens: one refresh however many workers need it; dead tokens park the account."""
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Account
from crm.amocrm.client import AmoCrmClient
from crm.amocrm.errors import CrmReinstallNeeded
from crm.amocrm.models import CrmConnection
from crm.amocrm.oauth import connection_refresh, crm_tokens_refresh_due
from sandboxes.amocrm import ManualClock
from sandboxes.amocrm.seed import DEMO_ACCOUNT_ID
from tests.crm.conftest import calls, drain, install, make_sandbox, note_action, notes_of
from tests.integration.test_concurrency import run_together

LEAD = 17655


@pytest.fixture
def clock():
    return ManualClock(time.time())


@pytest.fixture
def sandbox(settings, clock):
    sandbox = make_sandbox(settings, clock=clock)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def account(db, sandbox):
    assert install(sandbox).status_code == 200
    return Account.objects.get(crm_account_id=DEMO_ACCOUNT_ID)


def refresh_calls(sandbox) -> list:
    return [entry for entry in calls(sandbox, "POST", "/oauth2/access_token")
            if entry.body.get("grant_type") == "refresh_token"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_two_workers_refreshing_at_once_make_one_refresh_and_both_keep_access(account, sandbox):
    seen = account.crm_connection.token_version

    results = run_together([lambda: connection_refresh(account_id=account.pk, seen_version=seen)] * 2)

    assert len(refresh_calls(sandbox)) == 1
    assert all(isinstance(result, CrmConnection) for result in results), results
    assert {result.token_version for result in results} == {seen + 1}
    assert AmoCrmClient.for_account(account).get("/api/v4/account")["id"] == DEMO_ACCOUNT_ID


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_workers_hitting_an_expired_token_together_refresh_once_and_carry_on(account, sandbox, clock):
    clients = [AmoCrmClient.for_account(account) for _ in range(4)]
    clock.advance(86400 + 60)  # the access token died at amoCRM; our stored expiry does not know yet

    results = run_together([lambda client=client: client.get("/api/v4/account") for client in clients])

    assert [result["id"] for result in results] == [DEMO_ACCOUNT_ID] * 4, results
    assert len(refresh_calls(sandbox)) == 1
    assert CrmConnection.objects.get().status == "connected"


@pytest.mark.django_db
def test_a_token_about_to_expire_is_refreshed_before_the_call(account, sandbox):
    CrmConnection.objects.update(expires_at=timezone.now() + timedelta(minutes=1))

    AmoCrmClient.for_account(account).get("/api/v4/account")

    assert len(refresh_calls(sandbox)) == 1
    assert [entry.status for entry in calls(sandbox, "GET", "/api/v4/account")][-1] == 200


@pytest.mark.django_db
def test_the_beat_refreshes_tokens_that_expire_soon_and_leaves_fresh_ones(account, sandbox, settings):
    assert crm_tokens_refresh_due() == 0
    CrmConnection.objects.update(expires_at=timezone.now() + timedelta(hours=2))

    assert crm_tokens_refresh_due() == 1
    assert len(refresh_calls(sandbox)) == 1
    assert CrmConnection.objects.get().expires_at > timezone.now() + timedelta(hours=20)


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["expired", "revoked"])
def test_dead_tokens_park_the_account_and_keep_its_actions_until_reinstall(account, sandbox, clock, how):
    action = note_action(account, LEAD, "waits for the reinstall")
    if how == "expired":
        clock.advance(91 * 86400)  # past the refresh token's three months as well
    else:
        sandbox.simulate_uninstall()  # every token of the account is revoked

    report = drain(account)

    connection = CrmConnection.objects.get()
    action.refresh_from_db()
    assert connection.status == "needs_reinstall"
    assert "install the integration again" in connection.status_reason
    assert (report.released, action.state, action.attempts) == (1, "pending", 0)
    with pytest.raises(CrmReinstallNeeded):
        AmoCrmClient.for_account(account)
    assert drain(account).rounds == 0  # nothing is tried while the account waits

    assert install(sandbox).status_code == 200
    drain(account)

    action.refresh_from_db()
    assert action.state == "done"
    assert notes_of(sandbox, LEAD) == ["waits for the reinstall"]
