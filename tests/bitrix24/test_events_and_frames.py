"""Events and frames over real HTTP from the sandbox: deal events verified by the application token
(a wrong one is refused, logged and not acted on), uninstall parks the portal and a reinstall resumes it,
the deal tab opens only for a POST the authorization server confirms."""
import logging

import pytest
import requests

from crm.bitrix24 import adapter
from crm.bitrix24.errors import PortalUninstalled
from crm.bitrix24.events import deal_changed
from crm.bitrix24.models import Portal
from crm.bitrix24.portals import portal_installed, portal_uninstalled
from sandboxes.bitrix24 import SECOND_MEMBER_ID
from tests.bitrix24.conftest import install

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def heard():
    """What the adapter tells its listeners (the outbox, once wired)."""
    seen: list = []

    def listener(signal_name):
        def receive(sender, **kwargs):
            kwargs.pop("signal", None)
            seen.append((signal_name, kwargs))
        return receive

    receivers = [(deal_changed, listener("deal_changed")), (portal_installed, listener("installed")),
                 (portal_uninstalled, listener("uninstalled"))]
    for signal, receiver in receivers:
        signal.connect(receiver, weak=False)
    yield seen
    for signal, receiver in receivers:
        signal.disconnect(receiver)


def test_deal_events_are_verified_and_handed_on(portal, sandbox, heard):
    sandbox.control("POST", "deals/8061", {}, {"fields": {"TITLE": "Банкротство: Соколова И. А."}})
    sandbox.control("POST", "deals/8063/delete", {}, {})

    deliveries = sandbox.flush_events()

    assert [(d["event"], d["status"]) for d in deliveries] == [("ONCRMDEALUPDATE", 200), ("ONCRMDEALDELETE", 200)]
    changes = [(kwargs["deal_id"], kwargs["change"], kwargs["by_user"]) for name, kwargs in heard
               if name == "deal_changed"]
    assert changes == [(8061, "updated", True), (8063, "deleted", True)]


def test_a_robot_made_change_has_no_user_token_and_still_counts(portal, sandbox, heard):
    sandbox.event_switches["robot"] = True
    sandbox.control("POST", "deals/8062", {}, {"fields": {"STAGE_ID": "EXECUTING"}})

    assert sandbox.flush_events()[0]["status"] == 200
    assert [kwargs["by_user"] for name, kwargs in heard if name == "deal_changed"] == [False]


def test_an_event_with_a_wrong_application_token_is_refused_logged_and_ignored(portal, sandbox, heard, caplog):
    sandbox.event_switches["wrong_token"] = True
    with caplog.at_level(logging.WARNING, logger="crm.bitrix24.views"):
        sandbox.control("POST", "deals/8061", {}, {"fields": {"TITLE": "x"}})
        deliveries = sandbox.flush_events()

    assert [d["status"] for d in deliveries] == [403]
    assert not [name for name, _ in heard if name == "deal_changed"]
    assert any("wrong application token" in record.getMessage() for record in caplog.records)


def test_an_uninstall_parks_the_portal_and_a_reinstall_resumes_it(portal, sandbox, app_url, heard):
    sandbox.uninstall(clean=True)

    parked = Portal.objects.get(pk=portal.pk)
    assert parked.status == Portal.Status.UNINSTALLED
    assert not parked.access_token
    assert ("uninstalled", {"portal_id": portal.pk, "member_id": portal.member_id}) in heard
    with pytest.raises(PortalUninstalled):  # nothing is sent: the outbox keeps the actions
        adapter.comments_add(parked, {"1": (8061, "Платёж получен")})

    answer = install(sandbox, app_url)

    assert answer["status"] == 200
    resumed = Portal.objects.get(pk=portal.pk)
    assert resumed.is_installed
    assert resumed.install_generation == 2
    assert [kwargs["install_generation"] for name, kwargs in heard if name == "installed"] == [2]
    assert adapter.comments_add(resumed, {"1": (8061, "Платёж получен")})["1"].ok


def test_a_replayed_uninstall_of_an_earlier_install_is_refused(portal, sandbox, app_url):
    old_token = portal.application_token
    sandbox.uninstall()
    install(sandbox, app_url)
    replay = {"event": "ONAPPUNINSTALL", "data[CLEAN]": "0", "auth[member_id]": portal.member_id,
              "auth[domain]": portal.domain, "auth[application_token]": old_token}

    response = requests.post(f"{app_url}/bitrix24/events/", data=replay, timeout=10)

    assert response.status_code == 403
    assert Portal.objects.get(pk=portal.pk).is_installed


def test_the_deal_tab_opens_for_a_confirmed_frame_post(linked_portal, sandbox):
    answers = sandbox.open_frame(deal_id=8061)

    assert [answer["status"] for answer in answers] == [200]
    assert 'data-deal-id="8061"' in answers[0]["body"]
    assert 'data-area="lcard"' in answers[0]["body"]
    assert 'lang="ru"' in answers[0]["body"]
    assert "bitrix24/host.js" in answers[0]["body"]


def test_a_confirmed_frame_of_a_portal_linked_to_no_account_gets_no_token(portal, sandbox):
    Portal.objects.filter(pk=portal.pk).update(account=None)  # the install links one; an operator unlinked it
    answers = sandbox.open_frame(deal_id=8061)

    assert [answer["status"] for answer in answers] == [403]
    assert "payplan-boot" not in answers[0]["body"]


@pytest.mark.parametrize("forgery", ["made_up_auth_id", "wrong_application_token", "unknown_member",
                                     "foreign_portal_token", "domain_of_another_host"])
def test_a_forged_or_foreign_frame_post_is_refused(portal, sandbox, app_url, forgery):
    sandbox.add_portal(SECOND_MEMBER_ID, f"localhost:{sandbox.port}")
    sandbox.portal(SECOND_MEMBER_ID).app_installed = True
    overrides = {
        "made_up_auth_id": {"AUTH_ID": "access-made-up"},
        "wrong_application_token": {"APPLICATION_TOKEN": "apptoken-wrong"},
        "unknown_member": {"member_id": "ffffffffffffffffffffffffffffffff"},
        # A real token of another portal (where our app is also installed), with our portal's member_id.
        "foreign_portal_token": {"AUTH_ID": sandbox.issue_pair(SECOND_MEMBER_ID, 7)[0], "APPLICATION_TOKEN": ""},
    }.get(forgery, {})
    query = {"DOMAIN": "evil.bitrix24.ru"} if forgery == "domain_of_another_host" else None

    answer = sandbox.frame_post(handler=f"{app_url}/bitrix24/frame/", deal_id=8061, overrides=overrides, query=query)

    assert answer["status"] == 401, answer
    assert "data-deal-id" not in answer["body"]
    assert "не смог подтвердить, кто его открыл" in answer["body"]


def test_a_portal_parked_for_a_dead_refresh_token_is_revived_by_the_next_user_who_opens_it(linked_portal, sandbox,
                                                                                              heard):
    portal = linked_portal
    Portal.objects.filter(pk=portal.pk).update(status=Portal.Status.NEEDS_REINSTALL, status_reason="invalid_grant")

    answers = sandbox.open_frame(deal_id=8061)

    assert [answer["status"] for answer in answers] == [200]
    revived = Portal.objects.get(pk=portal.pk)
    assert revived.is_installed
    assert revived.token_version == portal.token_version + 1
    assert [name for name, _ in heard] == ["installed"]
    assert adapter.comments_add(revived, {"1": (8061, "Платёж получен")})["1"].ok
