"""The lawyers' story (USER-STORIES §2: 12 equal payments with the court's state fee «Госпошлина» in the
plan) run from the panel on a Bitrix24 deal and on an amoCRM lead, over real HTTP into both sandboxes; the
two journals say the same things, each in its CRM's terms: the same CRM actions in the same order, the
same note texts (Bitrix24 timeline comments, amoCRM lead notes), the figures in the deal's fields (Bitrix24
user fields, amoCRM lead fields), and the won stage (C1:WON of the deal's pipeline / amoCRM status 142)."""
import uuid

import pytest
from django.utils import timezone

from billing.models import Account, Deal
from crm.bitrix24.models import Portal
from crm.models import CrmAction
from sandboxes.amocrm.seed import DEMO_ACCOUNT_ID, FIELD_DEBT, FIELD_TOTAL
from sandboxes.bitrix24 import DEFAULT_MEMBER_ID
from tests.bitrix24.conftest import install
from tests.bitrix24.test_full_loop import DealTab, comments_of
from tests.conftest import WidgetClient
from tests.crm.conftest import install as amocrm_install
from tests.crm.conftest import lead_field, make_sandbox, notes_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

AMO_LEAD = 17655
B24_DEAL = 8061
PLAN = {"plan": "equal", "total": "160000.00", "installments_count": 12, "first_due_date": "2026-12-05",
        "group": "Банкротство 2026",
        "extra_charges": [{"label": "Госпошлина", "amount": "300.00", "due_date": "2026-12-05"}]}
FIRST_PAYMENT = {"amount": "13633.33", "method": "bank_transfer"}  # paid_at: today (frozen), set in story()


@pytest.fixture
def amocrm(settings, live_server):
    settings.AMOCRM_REDIS_PREFIX = f"payplan-test:{uuid.uuid4().hex}"
    settings.PAYPLAN_DEMO, settings.AMOCRM_ALLOW_LOOPBACK = True, True
    settings.AMOCRM_RATE_LIMIT_RPS, settings.AMOCRM_CONNECT_TIMEOUT, settings.AMOCRM_READ_TIMEOUT = 1000.0, 2.0, 2.0
    sandbox = make_sandbox(settings)
    settings.AMOCRM_REDIRECT_URI = sandbox.redirect_uri
    yield sandbox
    sandbox.stop()


def story(call) -> None:
    """What the lawyers' manager does in the panel: the plan with the state fee, the first payment by bank
    transfer, then the client pays the rest off."""
    answer = call("put", "/schedule", PLAN)
    assert answer.status_code == 200, answer.content
    assert "Госпошлина" in answer.content.decode(), answer.content
    answer = call("post", "/payments", FIRST_PAYMENT | {"paid_at": timezone.localdate().isoformat()})
    assert answer.status_code == 201, answer.content
    assert call("post", "/full-payment", {"method": "bank_transfer"}).status_code == 201


def journal(deal: Deal) -> list[tuple[str, str]]:
    return [(kind, payload.get("text", "")) for kind, payload in
            CrmAction.objects.filter(deal=deal).exclude(kind="fetch_lead").order_by("id")
            .values_list("kind", "payload")]


def test_the_lawyers_story_says_the_same_in_bitrix24_and_in_amocrm(sandbox, app_url, amocrm):
    # Bitrix24: installed through the sandbox, the plan built in the deal tab with the frame's token.
    assert install(sandbox, app_url)["status"] == 200
    b24_account = Portal.objects.get(member_id=DEFAULT_MEMBER_ID).account
    tab = DealTab(sandbox, app_url, B24_DEAL)
    story(lambda method, path, body: tab.call(method.upper(), path, body))

    # amoCRM: installed through our OAuth callback, its lead fields mapped by name at install.
    assert amocrm_install(amocrm).status_code == 200
    amo_account = Account.objects.get(crm_kind="amocrm", crm_account_id=DEMO_ACCOUNT_ID)
    widget = WidgetClient(amo_account)
    story(lambda method, path, body: getattr(widget, method)(f"/api/v1/deals/{AMO_LEAD}{path}", body))

    # The stage moves make both CRMs call back (amoCRM's lead hook, Bitrix24's ONCRMDEALUPDATE): each makes
    # PayPlan read its deal again; let those finish before reading the journals.
    amocrm.flush_webhooks(timeout=10)
    sandbox.flush_events(timeout=10)
    b24_deal = Deal.objects.get(account=b24_account, external_id=B24_DEAL)
    amo_deal = Deal.objects.get(account=amo_account, external_id=AMO_LEAD)
    assert (b24_deal.status, amo_deal.status) == ("paid", "paid")
    assert b24_deal.total == amo_deal.total == 160300
    waiting = CrmAction.objects.exclude(state="done").exclude(kind="fetch_lead")  # a re-read may still run
    assert not waiting.exists(), list(waiting.values_list("kind", "last_error"))

    # The same actions, in the same order, with the same texts.
    assert journal(b24_deal) == journal(amo_deal)
    kinds = [kind for kind, _ in journal(b24_deal)]
    assert kinds.count("move_to_completed") == 1
    assert "add_note" in kinds
    assert "update_fields" in kinds

    # Each CRM got them in its own terms.
    b24_notes, amo_notes = comments_of(sandbox, B24_DEAL), notes_of(amocrm, AMO_LEAD)
    assert b24_notes == amo_notes
    assert b24_notes[0].startswith("График платежей создан: сумма 160\u00a0300,00\u00a0₽, платежей: 13")
    assert b24_notes[-1].startswith("Получен платёж")
    row = sandbox.snapshot()["deals"][str(B24_DEAL)]
    assert (row["STAGE_ID"], row["UF_CRM_PAYPLAN_TOTAL"], row["UF_CRM_PAYPLAN_DEBT"]) == ("C1:WON", "160300.00",
                                                                                          "0.00")
    assert amocrm.account().leads[AMO_LEAD].status_id == 142
    assert (lead_field(amocrm, AMO_LEAD, FIELD_TOTAL), lead_field(amocrm, AMO_LEAD, FIELD_DEBT)) == ("160300", "0")
