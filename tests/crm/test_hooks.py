"""amoCRM's lead hooks: they only queue a re-read of leads we know; deletion is believed once the API agrees."""
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from billing.models import Deal
from crm.models import CrmAction
from tests.crm.conftest import drain

pytestmark = pytest.mark.django_db


def hook(account, pairs: list[tuple[str, object]], key: str | None = None):
    return APIClient().post(f"/amocrm/webhooks/{key or account.webhook_key}", urlencode(pairs),
                            content_type="application/x-www-form-urlencoded")


def lead_pairs(section: str, *lead_ids: int) -> list[tuple[str, object]]:
    pairs = []
    for index, lead_id in enumerate(lead_ids):
        pairs += [(f"leads[{section}][{index}][id]", lead_id), (f"leads[{section}][{index}][status_id]", 142)]
    return [*pairs, ("account[id]", 31234567), ("account[subdomain]", "demo")]


def test_an_update_hook_refreshes_the_deal_from_the_api(installed, sandbox):
    deal = Deal.objects.create(account=installed, external_id=17652, name="stale")
    sandbox.account().leads[17652].name = "Соколова — UX/UI дизайн (renamed)"

    response = hook(installed, lead_pairs("update", 17652, 17999))  # 17999: a lead PayPlan never saw

    assert response.status_code == 200
    assert response.json() == {"ok": True, "queued": 1}
    assert not Deal.objects.filter(external_id=17999).exists()
    drain(installed)
    deal.refresh_from_db()
    assert deal.name == "Соколова — UX/UI дизайн (renamed)"
    assert deal.contact_email == "maria.sokolova@example.ru"


def test_repeated_hooks_queue_one_fetch(installed):
    Deal.objects.create(account=installed, external_id=17652)
    for section in ("update", "status", "update"):
        hook(installed, lead_pairs(section, 17652))
    assert CrmAction.objects.filter(kind="fetch_lead", state="pending").count() == 1


def test_a_delete_hook_cancels_the_deal_once_the_lead_is_really_gone(installed, sandbox):
    deal = Deal.objects.create(account=installed, external_id=17653)
    del sandbox.account().leads[17653]

    hook(installed, lead_pairs("delete", 17653))
    drain(installed)

    deal.refresh_from_db()
    assert deal.status == "cancelled"
    assert deal.cancelled_at is not None


def test_a_forged_delete_hook_for_a_living_lead_cancels_nothing(installed, sandbox):
    deal = Deal.objects.create(account=installed, external_id=17653)

    hook(installed, lead_pairs("delete", 17653))
    drain(installed)

    deal.refresh_from_db()
    assert deal.cancelled_at is None
    assert deal.name == "Смирнов — Интернет-маркетинг"


def test_an_unknown_key_is_404_and_another_accounts_hook_is_refused(installed, other_account):
    Deal.objects.create(account=installed, external_id=17652)
    assert hook(installed, lead_pairs("update", 17652), key="nope").status_code == 404
    foreign = [("leads[update][0][id]", 17652), ("account[id]", other_account.crm_account_id)]
    assert hook(installed, foreign).status_code == 400
    assert not CrmAction.objects.exists()


def test_a_hook_of_one_account_never_touches_another_accounts_deal_on_the_same_lead_id(
        installed, sandbox, other_account):
    ours = Deal.objects.create(account=installed, external_id=17653)
    theirs = Deal.objects.create(account=other_account, external_id=17653, name="their deal")
    only_theirs = Deal.objects.create(account=other_account, external_id=17654, name="only theirs")
    del sandbox.account().leads[17653]

    response = hook(installed, [*lead_pairs("delete", 17653), *lead_pairs("update", 17654)[:2]])

    assert response.json() == {"ok": True, "queued": 1}
    assert not CrmAction.objects.filter(account=other_account).exists()
    assert set(CrmAction.objects.values_list("deal_id", flat=True)) == {ours.pk}
    drain(installed)
    ours.refresh_from_db()
    theirs.refresh_from_db()
    only_theirs.refresh_from_db()
    assert ours.status == "cancelled"
    assert (theirs.status, theirs.cancelled_at, theirs.name) == ("no_plan", None, "their deal")
    assert (only_theirs.status, only_theirs.name) == ("no_plan", "only theirs")
