"""Fixtures for the Bitrix24 adapter: a loopback sandbox, our server on a live port (so the sandbox can
install and send events over real HTTP), own Redis keys per test, and an installed portal."""
import uuid

import pytest

from sandboxes.bitrix24 import DEFAULT_MEMBER_ID, Bitrix24Sandbox

CLIENT_ID = "local.payplantest000001.00000001"
CLIENT_SECRET = "payplan-test-bitrix24-secret"


@pytest.fixture(autouse=True)
def b24_settings(settings):
    settings.BITRIX24_REDIS_PREFIX = f"payplan-test-b24:{uuid.uuid4().hex}"
    settings.BITRIX24_CLIENT_ID, settings.BITRIX24_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    settings.BITRIX24_ALLOW_LOOPBACK = True
    settings.BITRIX24_BUCKET_CAPACITY, settings.BITRIX24_BUCKET_DRAIN_RPS = 1000.0, 1000.0
    settings.BITRIX24_CONNECT_TIMEOUT, settings.BITRIX24_READ_TIMEOUT = 2.0, 10.0
    settings.BITRIX24_MAX_WAIT_SECONDS = 20.0
    yield settings
    from crm.bitrix24.ratelimit import redis_client

    client = redis_client()
    if client is not None:
        keys = list(client.scan_iter(f"{settings.BITRIX24_REDIS_PREFIX}:*", count=500))
        if keys:
            client.delete(*keys)


@pytest.fixture
def sandbox(settings):
    sandbox = Bitrix24Sandbox(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, bucket_capacity=1000,
                              bucket_drain=1000).start()
    settings.BITRIX24_OAUTH_URL = sandbox.oauth_url
    yield sandbox
    sandbox.stop()


@pytest.fixture
def app_url(live_server, settings):
    """Our server, as Bitrix24 reaches it (the handlers the install binds point here)."""
    settings.PAYPLAN_PUBLIC_ORIGIN = live_server.url
    return live_server.url


def install(sandbox, app_url, **options):
    return sandbox.install(install_url=f"{app_url}/bitrix24/install/", **options)


@pytest.fixture
def portal(sandbox, app_url):
    """The sandbox's portal with PayPlan installed through our install URL (frame + installFinish)."""
    from crm.bitrix24.models import Portal

    answer = install(sandbox, app_url)
    assert answer["status"] == 200, answer
    return Portal.objects.get(member_id=DEFAULT_MEMBER_ID)


def rest_calls(sandbox, method: str | None = None) -> list[dict]:
    return [entry for entry in sandbox.journal.list() if entry.get("kind") == "rest"
            and (method is None or entry["method"] == method)]


def portal_direct(sandbox, member_id: str = DEFAULT_MEMBER_ID):
    """Install without our HTTP server: the ONAPPINSTALL form the sandbox would send, given straight to
    the install service, then the setup (what the after-commit task does)."""
    from crm.bitrix24.install import portal_install, portal_setup

    state = sandbox.portal(member_id)
    state.app_installed, state.install_finished = True, True
    state.application_token = sandbox.new_application_token()
    access, refresh = sandbox.issue_pair(member_id, 1)
    form = {"event": "ONAPPINSTALL", **sandbox._auth_form(state, access=access, refresh=refresh, user_id=1)}
    portal, _ = portal_install(form=form, query={})
    portal_setup(portal_id=portal.pk)
    portal.refresh_from_db()
    return portal


@pytest.fixture
def direct_portal(db, sandbox):
    return portal_direct(sandbox)


def portal_link(portal, *, crm_id: int = 77000001, slug: str = "b24-lawyers"):
    """The PayPlan account the portal is (the lead's install wiring will do this on portal_installed)."""
    from billing.services import account_create
    from crm.bitrix24.models import Portal

    account = account_create(crm_account_id=crm_id, slug=slug, crm_kind="bitrix24", name="Юристы (Битрикс24)")
    Portal.objects.filter(pk=portal.pk).update(account=account)
    portal.refresh_from_db()
    return account


@pytest.fixture
def linked_portal(portal):
    """The installed portal, linked to its PayPlan account."""
    portal_link(portal)
    return portal
