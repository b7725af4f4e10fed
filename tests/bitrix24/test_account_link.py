"""Installing links the portal to its PayPlan account (crm_kind bitrix24, created on the first install,
found again on every reinstall); an uninstall parks the account's CRM actions, a reinstall sends them."""
import pytest

from billing.models import Account, Deal
from billing.services import account_create
from billing.services.deals import deal_get_or_create
from crm.bitrix24.models import Portal
from crm.drain import outbox_drain_account
from crm.models import CrmAction
from crm.outbox import crm_action_add
from sandboxes.bitrix24 import DEFAULT_MEMBER_ID
from tests.bitrix24.conftest import install

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_first_install_creates_a_bitrix24_account_for_the_portal(sandbox, app_url):
    install(sandbox, app_url)

    portal = Portal.objects.select_related("account").get(member_id=DEFAULT_MEMBER_ID)
    account = portal.account
    assert account is not None
    assert (account.crm_kind, account.crm_account_id) == ("bitrix24", portal.pk)
    assert account.host == sandbox.host
    assert account.slug == sandbox.host.replace(".", "-").replace(":", "-")


def test_an_amocrm_account_with_the_same_number_is_another_account(sandbox, app_url):
    amocrm = account_create(crm_account_id=1, slug="school", crm_kind="amocrm")
    install(sandbox, app_url)

    portal = Portal.objects.get(member_id=DEFAULT_MEMBER_ID)
    assert portal.account_id != amocrm.pk
    assert Account.objects.filter(crm_account_id=portal.pk).count() == 1 + (portal.pk == 1)


def test_uninstall_parks_the_actions_and_the_reinstall_sends_them_to_the_same_account(sandbox, app_url):
    install(sandbox, app_url)
    account = Portal.objects.get(member_id=DEFAULT_MEMBER_ID).account
    deal = deal_get_or_create(account=account, external_id=8061)
    sandbox.uninstall()
    assert Portal.objects.get(member_id=DEFAULT_MEMBER_ID).status == Portal.Status.UNINSTALLED

    note = crm_action_add(deal=deal, kind=CrmAction.Kind.ADD_NOTE, payload={"text": "Платёж 13 334,00 ₽ получен"},
                          source="test")
    report = outbox_drain_account(account_id=account.pk, budget_seconds=5)
    note.refresh_from_db()
    assert report.stopped == "not connected"
    assert (note.state, note.attempts) == ("pending", 0)  # parked, not failed

    install(sandbox, app_url)  # the admin adds the app again: same account, the parked note goes out

    portal = Portal.objects.get(member_id=DEFAULT_MEMBER_ID)
    assert (portal.account_id, portal.install_generation) == (account.pk, 2)
    assert Account.objects.filter(crm_kind="bitrix24").count() == 1
    assert Deal.objects.get(pk=deal.pk).account_id == account.pk
    note.refresh_from_db()
    assert note.state == "done", note.last_error
    assert "Платёж 13 334,00 ₽ получен" in [row["COMMENT"] for row in sandbox.snapshot()["comments"]]


def test_a_reinstall_of_an_unlinked_portal_links_its_account_again(sandbox, app_url):
    install(sandbox, app_url)
    portal = Portal.objects.get(member_id=DEFAULT_MEMBER_ID)
    account_id = portal.account_id
    Portal.objects.filter(pk=portal.pk).update(account=None)
    sandbox.uninstall()

    install(sandbox, app_url)

    assert Portal.objects.get(pk=portal.pk).account_id == account_id
    assert Account.objects.filter(crm_kind="bitrix24").count() == 1


def test_a_portal_whose_name_is_taken_gets_another_slug(sandbox, app_url):
    account_create(crm_account_id=5, slug=sandbox.host.replace(".", "-").replace(":", "-"), crm_kind="amocrm")
    install(sandbox, app_url)

    account = Portal.objects.select_related("account").get(member_id=DEFAULT_MEMBER_ID).account
    assert account.slug.endswith("-b24")
