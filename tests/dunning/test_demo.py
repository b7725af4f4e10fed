"""The demo: `payplan_billing_run --date <due date>` sends the email, the SMS and makes the manager's task."""
from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command

from billing.demo import DEMO_ACCOUNT_ID
from billing.models import Account, Deal
from billing.services.relay import events_relay_run
from billing.time import account_today
from crm.models import CrmAction
from sandboxes.messaging import MessagingSandbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def messaging(settings):
    server = MessagingSandbox().start()
    settings.DUNNING_SMSRU_URL = settings.DUNNING_WHATSAPP_URL = settings.DUNNING_TELEGRAM_URL = server.url
    yield server
    server.stop()


def test_billing_run_across_a_due_date_runs_the_ladder(messaging):
    call_command("payplan_demo_load", stdout=StringIO())
    account = Account.objects.get(crm_account_id=DEMO_ACCOUNT_ID)
    due = account_today(account) + timedelta(days=5)  # Иванова's first line
    out = StringIO()
    call_command("payplan_billing_run", "--date", due.isoformat(), stdout=out)
    assert "reminders demo" in out.getvalue() or "reminders " in out.getvalue()
    deal = Deal.objects.get(account=account, external_id=17651)
    assert any("maria.ivanova@example.test" in message.to for message in mail.outbox)
    assert [message["to"] for message in messaging.messages("sms")] == ["79123456789"]
    events_relay_run()  # the CRM feed runs after commit, in the relay
    task = CrmAction.objects.filter(deal=deal, kind="create_task", source="reminder_sent").get()
    assert "Мария Иванова" in task.payload["text"]
    assert CrmAction.objects.filter(deal=deal, kind="create_task", source="installment_overdue").exists()
    again = StringIO()
    call_command("payplan_billing_run", "--date", due.isoformat(), stdout=again)  # the same day twice
    assert len(messaging.messages("sms")) == 1
