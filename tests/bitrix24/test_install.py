"""Installing into a Bitrix24 portal over real HTTP: verified with the authorization server, set up
(user fields, events, the deal tab), idempotent on repeats; anything unverifiable stores nothing."""
import pytest
import requests

from crm.bitrix24.adapter import USER_FIELDS
from crm.bitrix24.models import Portal
from sandboxes.bitrix24 import DEFAULT_MEMBER_ID, SECOND_MEMBER_ID, Bitrix24Sandbox
from tests.bitrix24.conftest import CLIENT_ID, CLIENT_SECRET, install

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_installer_frame_stores_the_portal_sets_it_up_and_finishes_the_install(sandbox, app_url):
    answer = install(sandbox, app_url)

    assert answer["status"] == 200
    assert "bitrix24/install.js" in answer["body"]  # the page calls BX24.installFinish()
    portal = Portal.objects.get(member_id=DEFAULT_MEMBER_ID)
    assert portal.is_installed
    assert portal.install_generation == 1
    assert portal.domain == sandbox.host
    assert portal.client_endpoint == f"http://{sandbox.host}/rest/"
    assert portal.application_token == answer["application_token"]
    assert portal.access_token == answer["access_token"]
    assert portal.refresh_token == answer["refresh_token"]
    state = sandbox.snapshot()
    assert state["install_finished"]
    assert {row["FIELD_NAME"] for row in state["userfields"]} == {f"UF_CRM_{code}" for code, _, _ in
                                                                  USER_FIELDS.values()}
    assert {row["event"] for row in state["events"]} == {"ONCRMDEALUPDATE", "ONCRMDEALADD", "ONCRMDEALDELETE",
                                                         "ONAPPUNINSTALL"}
    assert state["placements"] == [{"placement": "CRM_DEAL_DETAIL_TAB", "handler": f"{app_url}/bitrix24/frame/",
                                    "title": "PayPlan", "options": {}}]
    assert portal.__class__.objects.get(pk=portal.pk).setup["fields"]["debt"] == "UF_CRM_PAYPLAN_DEBT"


def test_the_api_only_onappinstall_is_accepted_the_same_way(sandbox, app_url):
    answer = install(sandbox, app_url, api_only=True)

    assert answer["status"] == 200
    assert '"ok": true' in answer["body"]
    portal = Portal.objects.get(member_id=DEFAULT_MEMBER_ID)
    assert portal.installer_user_id == 1
    assert portal.application_token == answer["application_token"]


def test_a_reinstall_replaces_the_install_without_doubling_fields_or_tabs(sandbox, app_url):
    install(sandbox, app_url)
    sandbox.uninstall()
    second = install(sandbox, app_url)

    portal = Portal.objects.get(member_id=DEFAULT_MEMBER_ID)
    assert portal.install_generation == 2
    assert portal.application_token == second["application_token"]
    state = sandbox.snapshot()
    assert len(state["userfields"]) == len(USER_FIELDS)  # looked up first, none added twice
    assert len(state["placements"]) == 1


def test_a_portal_that_lost_its_setup_and_installs_again_is_set_up_again(app_url, settings):
    """`make run` restarted: a fresh sandbox portal (no tab, no fields) installs PayPlan again, which kept the
    portal from the last run. The new install has a new application token, as every Bitrix24 install does, so
    it is a new install and the tab is bound again (with a repeated token it would count as a duplicate)."""
    def fresh_sandbox():
        started = Bitrix24Sandbox(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, bucket_capacity=1000,
                                  bucket_drain=1000).start()
        settings.BITRIX24_OAUTH_URL = started.oauth_url
        return started

    first_run = fresh_sandbox()
    try:
        first = install(first_run, app_url)
    finally:
        first_run.stop()
    second_run = fresh_sandbox()
    try:
        second = install(second_run, app_url)
        state = second_run.snapshot()
    finally:
        second_run.stop()

    assert first["application_token"] != second["application_token"]
    assert Portal.objects.get(member_id=DEFAULT_MEMBER_ID).install_generation == 2
    assert [row["placement"] for row in state["placements"]] == ["CRM_DEAL_DETAIL_TAB"]


def test_a_late_duplicate_onappinstall_changes_nothing(sandbox, app_url):
    install(sandbox, app_url)
    portal = Portal.objects.get(member_id=DEFAULT_MEMBER_ID)
    late = sandbox._auth_form(sandbox.portal(), access=portal.access_token, refresh="refresh-older", user_id=1)

    response = requests.post(f"{app_url}/bitrix24/install/", data={"event": "ONAPPINSTALL", **late}, timeout=10)

    assert response.status_code == 200
    again = Portal.objects.get(pk=portal.pk)
    assert (again.token_version, again.refresh_token, again.install_generation) == (
        portal.token_version, portal.refresh_token, 1)


@pytest.mark.parametrize("forgery", ["made_up_token", "foreign_portal_token", "no_application_token",
                                     "not_a_bitrix_host"])
def test_an_install_that_cannot_be_verified_stores_nothing(sandbox, app_url, forgery):
    sandbox.add_portal(SECOND_MEMBER_ID, f"localhost:{sandbox.port}")
    sandbox.portal(SECOND_MEMBER_ID).app_installed = True
    foreign_access, _ = sandbox.issue_pair(SECOND_MEMBER_ID, 1)
    form = {"event": "ONAPPINSTALL", "auth[member_id]": DEFAULT_MEMBER_ID, "auth[domain]": sandbox.host,
            "auth[access_token]": "access-made-up", "auth[refresh_token]": "refresh-made-up",
            "auth[application_token]": "apptoken-made-up", "auth[expires_in]": "3600"}
    if forgery == "foreign_portal_token":
        form["auth[access_token]"] = foreign_access  # valid, ours, but of another portal
    elif forgery == "no_application_token":
        form["auth[access_token]"] = foreign_access
        form["auth[member_id]"], form["auth[domain]"] = SECOND_MEMBER_ID, f"localhost:{sandbox.port}"
        del form["auth[application_token]"]
    elif forgery == "not_a_bitrix_host":
        form["auth[domain]"] = "evil.example.com"

    response = requests.post(f"{app_url}/bitrix24/install/", data=form, timeout=10)

    assert response.status_code == 403
    assert not Portal.objects.exists()


def test_a_token_of_another_application_is_refused(sandbox, app_url, settings):
    settings.BITRIX24_CLIENT_ID = "local.someoneelse00001.00000001"

    answer = install(sandbox, app_url)

    assert answer["status"] == 403
    assert not Portal.objects.exists()
