"""Tokens: refreshed on expired_token and retried once; one refresh per portal even when workers hit an
expired token together (real PostgreSQL, real threads); a dead refresh token parks the portal."""
import pytest

from crm.bitrix24.client import Bitrix24Client
from crm.bitrix24.errors import ReinstallNeeded
from crm.bitrix24.models import Portal
from tests.bitrix24.conftest import portal_direct
from tests.threads import run_together


def test_an_expired_token_is_refreshed_once_and_the_call_goes_through(direct_portal, sandbox):
    sandbox.expire_tokens()

    deal = Bitrix24Client(direct_portal).call("crm.deal.get", {"id": 8061})

    assert deal["ID"] == "8061"
    assert sandbox.counters["refreshes"] == 1
    portal = Portal.objects.get(pk=direct_portal.pk)
    assert portal.token_version == direct_portal.token_version + 1
    assert portal.access_token != direct_portal.access_token  # the rotated pair is stored
    assert portal.refresh_token != direct_portal.refresh_token


def test_an_injected_expired_token_answer_is_survived_the_same_way(direct_portal, sandbox):
    sandbox.fault_add({"kind": "expired_token", "next": 1})

    assert Bitrix24Client(direct_portal).call("user.current")["ID"] == "1"
    assert sandbox.counters["refreshes"] == 1


@pytest.mark.django_db(transaction=True)
def test_workers_hitting_an_expired_token_together_make_one_refresh_and_all_carry_on(sandbox):
    portal = portal_direct(sandbox)
    sandbox.expire_tokens()

    def worker():
        # Each worker read the portal row before anyone refreshed: all hold the same dead pair.
        return Bitrix24Client(Portal.objects.get(pk=portal.pk)).call("crm.deal.get", {"id": 8062})["ID"]

    results = run_together([worker, worker, worker, worker])

    assert results == ["8062"] * 4
    assert sandbox.counters["refreshes"] == 1
    assert sandbox.counters["refresh_reuse"] == 0  # nobody used a rotated-out refresh token
    stored = Portal.objects.get(pk=portal.pk)
    assert stored.token_version == portal.token_version + 1
    assert stored.is_installed
    assert not stored.refresh_claim


def test_a_refresh_token_refused_parks_the_portal_until_it_is_opened_or_reinstalled(direct_portal, sandbox):
    sandbox.use_refresh(direct_portal.refresh_token)  # someone else used it: ours is dead
    sandbox.expire_tokens()

    with pytest.raises(ReinstallNeeded):
        Bitrix24Client(direct_portal).call("crm.deal.get", {"id": 8061})

    portal = Portal.objects.get(pk=direct_portal.pk)
    assert portal.status == Portal.Status.NEEDS_REINSTALL
    with pytest.raises(ReinstallNeeded):  # parked: nothing more is sent
        Bitrix24Client(portal).call("crm.deal.get", {"id": 8061})


def test_only_portals_idle_for_two_weeks_are_refreshed_by_the_beat(direct_portal, sandbox):
    from datetime import timedelta

    from django.utils import timezone

    from crm.bitrix24.oauth import portals_refresh_idle

    assert portals_refresh_idle() == 0  # just installed: no refresh on a timer
    Portal.objects.filter(pk=direct_portal.pk).update(installed_at=timezone.now() - timedelta(days=15))

    assert portals_refresh_idle() == 1
    assert sandbox.counters["refreshes"] == 1
    assert portals_refresh_idle() == 0  # refreshed_at is now
