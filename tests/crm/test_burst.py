"""Bursts of actions for one account, drained by several workers at once: every action exactly once, in
order per deal, and not a single 429 from the sandbox."""
import threading
import time

import pytest
from django.db import connection as db

from billing.models import Deal
from crm.drain import outbox_drain_account
from crm.models import CrmAction
from sandboxes.amocrm.seed import DEMO_ACCOUNT_ID
from tests.crm.conftest import install, make_sandbox

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
FIRST_LEAD = 60001


def burst_account(sandbox, deals: int, per_deal: int):
    """The demo account installed, `deals` extra leads, and `per_deal` actions for each (notes and
    field updates taking turns)."""
    from billing.models import Account
    from billing.services.accounts import account_settings_update
    from tests.crm.conftest import CRM_FIELDS

    for offset in range(deals):
        sandbox.seed_lead(DEMO_ACCOUNT_ID, f"Burst lead {offset}", lead_id=FIRST_LEAD + offset)
    assert install(sandbox).status_code == 200
    account = account_settings_update(account=Account.objects.get(crm_account_id=DEMO_ACCOUNT_ID),
                                      settings={"custom_fields": CRM_FIELDS})
    rows = []
    for offset in range(deals):
        deal = Deal.objects.create(account=account, external_id=FIRST_LEAD + offset)
        for step in range(per_deal):
            if step % 2:
                rows.append(CrmAction(account=account, deal=deal, external_id=deal.external_id, kind="update_fields",
                                      payload={"fields": {"received": f"{step}000.00"}}))
            else:
                rows.append(CrmAction(account=account, deal=deal, external_id=deal.external_id, kind="add_note",
                                      payload={"text": f"lead {deal.external_id} step {step}"}))
    CrmAction.objects.bulk_create(rows)
    return account


def drain_on_workers(account, workers: int, *, timeout: float, **options) -> None:
    """`workers` threads drain the account at once, each until nothing is left open."""
    deadline = time.monotonic() + timeout

    def work():
        try:
            while time.monotonic() < deadline and CrmAction.objects.filter(
                    account=account, state__in=["pending", "sending"]).exists():
                if not outbox_drain_account(account_id=account.pk, budget_seconds=5, **options).rounds:
                    time.sleep(0.05)
        finally:
            db.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout + 10)


def assert_each_once_in_order(sandbox, deals: int, per_deal: int) -> None:
    assert set(CrmAction.objects.values_list("state", flat=True)) == {"done"}
    notes = sorted(sandbox.account().notes.values(), key=lambda note: note.id)
    for offset in range(deals):
        lead_id = FIRST_LEAD + offset
        texts = [note.params["text"] for note in notes if note.entity_id == lead_id]
        assert texts == [f"lead {lead_id} step {step}" for step in range(0, per_deal, 2)]


def test_a_burst_of_500_actions_at_amocrms_own_limit_gets_no_429(settings):
    sandbox = make_sandbox(settings, rate_limit_rps=7, block_after=3)
    settings.AMOCRM_RATE_LIMIT_RPS = 6.5  # production's 6.8 is measured by bench/crm_outbox.py; see test_full_loop
    try:
        account = burst_account(sandbox, deals=50, per_deal=10)
        drain_on_workers(account, workers=4, timeout=60)
        counters = sandbox.counters()
        assert_each_once_in_order(sandbox, deals=50, per_deal=10)
    finally:
        sandbox.stop()
    assert (counters["rate_limited"], counters["blocked"]) == (0, False)
    assert counters["max_calls_per_second"] <= 7


def test_500_single_calls_from_four_workers_stay_under_the_limit(settings):
    """Batching off, so the budget really is the bottleneck: 500 calls paced by the shared bucket."""
    sandbox = make_sandbox(settings, rate_limit_rps=100, block_after=3)
    settings.AMOCRM_RATE_LIMIT_RPS = 96
    try:
        account = burst_account(sandbox, deals=20, per_deal=25)
        drain_on_workers(account, workers=4, timeout=60, batch_size=1)
        counters = sandbox.counters()
        api_calls = [entry for entry in sandbox.journal if entry.path.startswith("/api/v4/")]
        assert_each_once_in_order(sandbox, deals=20, per_deal=25)
    finally:
        sandbox.stop()
    assert (counters["rate_limited"], counters["blocked"]) == (0, False)
    assert counters["max_calls_per_second"] <= 100  # the bucket, not the workers, set the pace
    assert len(api_calls) >= 500
