"""Fixtures for the amoCRM side: a loopback sandbox, an account installed through our OAuth callback,
Redis keys of our own per test, and helpers to drain the outbox and read what the sandbox saw."""
import uuid

import pytest
from rest_framework.test import APIClient

from sandboxes.amocrm import CrmSandbox
from sandboxes.amocrm.seed import DEMO_ACCOUNT_ID

CRM_FIELDS = {"total": 512341, "received": 512342, "debt": 512343, "payments_count": 512344,
              "monthly_payment": 512345, "last_payment_day": 512346, "group": 512347, "education_direction": 512348}


@pytest.fixture(autouse=True)
def crm_settings(settings):
    """Own Redis keys per test (buckets, locks and caches of parallel tests never meet), loopback
    referers allowed, short timeouts, and a budget so high it is never the point unless a test says so."""
    settings.AMOCRM_REDIS_PREFIX = f"payplan-test:{uuid.uuid4().hex}"
    # The sandbox CRM lives on a loopback referer, which only demo mode accepts.
    settings.PAYPLAN_DEMO = True
    settings.AMOCRM_ALLOW_LOOPBACK = True
    settings.AMOCRM_RATE_LIMIT_RPS = 1000.0
    settings.AMOCRM_CONNECT_TIMEOUT = 2.0
    settings.AMOCRM_READ_TIMEOUT = 2.0
    yield settings
    from crm.coordination import redis_client

    client = redis_client()
    if client is not None:
        keys = list(client.scan_iter(f"{settings.AMOCRM_REDIS_PREFIX}:*", count=500))
        if keys:
            client.delete(*keys)


def make_sandbox(settings, **options) -> CrmSandbox:
    from crm.amocrm.oauth import redirect_uri

    options.setdefault("rate_limit_rps", None)
    return CrmSandbox(settings.AMOCRM_CLIENT_ID, settings.AMOCRM_CLIENT_SECRET, redirect_uri(), **options).start()


@pytest.fixture
def sandbox(settings):
    sandbox = make_sandbox(settings)
    yield sandbox
    sandbox.stop()


def install(sandbox: CrmSandbox, account_id: int | None = None, **params):
    """Run our OAuth callback the way amoCRM calls it after an install started at our link (a fresh
    state of ours; pass `state=None` to leave it out)."""
    from crm.amocrm.oauth import state_make

    query = {"code": sandbox.issue_code(account_id), "referer": sandbox.host, "from_widget": "1",
             "state": state_make(), **params}
    return APIClient().get("/amocrm/oauth/callback", {key: value for key, value in query.items() if value is not None})


@pytest.fixture
def installed(db, sandbox):
    """The sandbox's demo account, installed through /amocrm/oauth/callback, with its lead fields mapped."""
    from billing.models import Account
    from billing.services.accounts import account_settings_update

    response = install(sandbox)
    assert response.status_code == 200, response.content
    account = Account.objects.get(crm_account_id=DEMO_ACCOUNT_ID)
    return account_settings_update(account=account, settings={"custom_fields": CRM_FIELDS})


def drain(account, **options):
    """Run the event relay (the events become CRM actions), then the account's CRM outbox drain."""
    from billing.services.relay import events_relay_run
    from crm.drain import outbox_drain_account

    events_relay_run()
    options.setdefault("budget_seconds", 20)
    return outbox_drain_account(account_id=account.pk, **options)


def outbox_settled(account, *, timeout: float = 20.0) -> None:
    """Every CRM action of the account delivered. A commit drains the outbox at once (Celery is eager), but a
    lead hook answered by the live server in its own thread may have claimed the deal's actions first: this
    waits for that drain (and drains what is left), bounded."""
    import time

    from crm.models import CrmAction

    deadline = time.monotonic() + timeout
    while CrmAction.objects.filter(account=account).exclude(state="done").exists():
        assert time.monotonic() < deadline, list(CrmAction.objects.exclude(state="done").values("kind", "state"))
        if not CrmAction.objects.filter(account=account, state="sending").exists():
            drain(account, budget_seconds=5)
        time.sleep(0.05)


def calls(sandbox: CrmSandbox, method: str, path: str) -> list:
    return [entry for entry in sandbox.journal if entry.method == method and entry.path == path]


def lead_field(sandbox: CrmSandbox, lead_id: int, field_id: int):
    values = sandbox.account().leads[lead_id].custom_fields.get(field_id)
    return values[0]["value"] if values else None


def notes_of(sandbox: CrmSandbox, lead_id: int) -> list[str]:
    return [note.params.get("text") for _, note in sorted(sandbox.account().notes.items())
            if note.entity_id == lead_id]


def note_action(account, lead_id: int, text: str):
    """A note waiting in the outbox for the lead's deal (made if PayPlan has not seen the lead yet)."""
    from billing.models import Deal
    from crm.models import CrmAction

    deal, _ = Deal.objects.get_or_create(account=account, external_id=lead_id)
    return CrmAction.objects.create(account=account, deal=deal, external_id=lead_id, kind="add_note",
                                    payload={"text": text})
