"""The whole loop over real HTTP with real PostgreSQL and Redis: install through the OAuth callback, pay a
deal off (offline through the widget, online through a signed CloudPayments Pay notification), and
read in the sandbox's journal the notes, the fields and the move to the Completed stage. Celery runs
eagerly, so every commit drains the outbox right away, as a worker would a moment later."""
import pytest

from billing.models import Account, Deal, Invoice
from billing.services.invoicing import invoice_reserve
from crm.models import CrmAction
from sandboxes.amocrm.seed import DEMO_ACCOUNT_ID, FIELD_DEBT, FIELD_GROUP, FIELD_RECEIVED, FIELD_TOTAL
from tests.conftest import WidgetClient
from tests.crm.conftest import calls, install, lead_field, make_sandbox, notes_of, outbox_settled
from tests.webhooks.conftest import Notifier, pay_fields

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def sandbox(settings, live_server):
    """The demo amoCRM with amoCRM's own 7 rps limit; its hooks reach our live server."""
    sandbox = make_sandbox(settings, rate_limit_rps=7)
    settings.AMOCRM_REDIRECT_URI = sandbox.redirect_uri
    settings.PAYPLAN_PUBLIC_ORIGIN = live_server.url  # where lead hooks are subscribed (and the tokens' aud)
    # Production paces at 6.8 (bench/crm_outbox.py measures it); the suite shares two busy cores,
    # so its requests get a little more room for scheduling jitter.
    settings.AMOCRM_RATE_LIMIT_RPS = 6.5
    yield sandbox
    sandbox.stop()


@pytest.fixture
def account(sandbox):
    assert install(sandbox).status_code == 200
    return Account.objects.get(crm_account_id=DEMO_ACCOUNT_ID)


def test_an_offline_full_payment_ends_with_a_note_fields_and_the_completed_stage(account, sandbox):
    assert account.settings["custom_fields"]["total"] == FIELD_TOTAL  # mapped by name at install
    widget = WidgetClient(account)
    plan = {"plan": "equal", "total": "120000.00", "installments_count": 4, "first_due_date": "2027-01-10",
            "group": "JAVA-2027-01"}

    assert widget.put("/api/v1/deals/17655/schedule", plan).status_code == 200
    assert widget.post("/api/v1/deals/17655/full-payment", {"method": "cash"}).status_code == 201
    outbox_settled(account)

    lead = sandbox.account().leads[17655]
    assert (lead.status_id, lead.pipeline_id) == (142, 1113)
    assert (lead_field(sandbox, 17655, FIELD_TOTAL), lead_field(sandbox, 17655, FIELD_RECEIVED),
            lead_field(sandbox, 17655, FIELD_DEBT), lead_field(sandbox, 17655, FIELD_GROUP)) == (
        "120000", "120000", "0", "JAVA-2027-01")
    notes = notes_of(sandbox, 17655)
    assert notes[0].startswith("График платежей создан")
    assert notes[-1].startswith("Получен платёж 120")
    assert not CrmAction.objects.exclude(state="done").exists()
    assert [entry for entry in sandbox.journal if entry.status == 429] == []
    deal = Deal.objects.get(external_id=17655)
    assert (deal.name, deal.contact_phone) == ("Кузнецов — Java-разработчик", "+79161234505")

    # The stage move made amoCRM call our lead hook; the hook made us read the lead again.
    deliveries = sandbox.flush_webhooks(timeout=10)
    assert [delivery.status for delivery in deliveries] == [200] * len(deliveries)
    assert deliveries
    assert CrmAction.objects.filter(kind="fetch_lead", source="amocrm_hook", state="done").exists()


def test_a_cloudpayments_pay_notification_moves_the_lead_to_completed(account, sandbox):
    Account.objects.filter(pk=account.pk).update(cloudpayments_public_id="pk_demo",
                                                 cloudpayments_api_secret="demo-api-secret")
    account.refresh_from_db()
    widget = WidgetClient(account)
    plan = {"plan": "full", "total": "72000.00", "first_due_date": "2027-01-10"}
    assert widget.put("/api/v1/deals/17656/schedule", plan).status_code == 200
    installment = Deal.objects.get(external_id=17656).schedules.get().installments.get()
    invoice = invoice_reserve(installment_id=installment.pk).invoice
    Invoice.objects.filter(pk=invoice.pk).update(status="issued")

    answer = Notifier(account).post("pay", pay_fields(invoice, transaction_id=7001, amount="72000.00"))

    assert answer.json() == {"code": 0}
    outbox_settled(account)
    lead = sandbox.account().leads[17656]
    assert (lead.status_id, lead.pipeline_id) == (142, 1113)
    assert lead_field(sandbox, 17656, FIELD_DEBT) == "0"
    assert any("онлайн, CloudPayments" in note for note in notes_of(sandbox, 17656))
    assert len(calls(sandbox, "POST", "/oauth2/access_token")) == 1  # the install; no refresh was needed
