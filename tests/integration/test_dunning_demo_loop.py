"""The demo's reminder ladder end to end over real loopback HTTP and SMTP: `payplan_demo_load`, the demo
account installed into the amoCRM sandbox (`payplan_demo_connect`), then `payplan_billing_run --date`
across Иванова's due date, and the three journals read the way an outside checker reads them — the amoCRM
sandbox's /_sandbox/journal, the SMTP sink, and the messaging sandbox's /_sandbox/messages."""
import uuid
from datetime import timedelta
from io import StringIO

import pytest
import requests
from django.core.management import call_command

from billing.demo import DEMO_ACCOUNT_ID
from billing.models import Account
from billing.time import account_today
from sandboxes.messaging import MessagingSandbox
from sandboxes.smtp import SmtpSink
from tests.crm.conftest import drain, make_sandbox

pytestmark = pytest.mark.django_db

IVANOVA_LEAD = 17651


@pytest.fixture
def loopback(settings):
    """The three sandboxes on free loopback ports, with Django pointed at them as the demo's local settings do."""
    settings.AMOCRM_REDIS_PREFIX = f"payplan-test:{uuid.uuid4().hex}"
    settings.PAYPLAN_DEMO = settings.AMOCRM_ALLOW_LOOPBACK = True
    settings.AMOCRM_RATE_LIMIT_RPS = 1000.0
    crm = make_sandbox(settings)
    smtp = SmtpSink().start()
    messaging = MessagingSandbox().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", smtp.port, False
    settings.DUNNING_SMSRU_URL = settings.DUNNING_WHATSAPP_URL = settings.DUNNING_TELEGRAM_URL = messaging.url
    yield crm, smtp, messaging
    messaging.stop()
    smtp.stop()
    crm.stop()


def crm_tasks(crm) -> list[dict]:
    journal = requests.get(f"{crm.url}/_sandbox/journal", timeout=5).json()["entries"]
    return [task for entry in journal if entry["method"] == "POST" and entry["path"] == "/api/v4/tasks"
            and entry["status"] < 300 for task in entry["body"]]


def reminders(smtp) -> list:
    return [mail for mail in smtp.messages if "maria.ivanova@example.test" in mail.recipients
            and str(mail.message["Subject"]).strip().startswith("Напоминание об оплате")]


def sms(messaging) -> list[dict]:
    messages = requests.get(f"{messaging.url}/_sandbox/messages", timeout=5).json()["messages"]
    return [message for message in messages if message["provider"] == "sms"]


def test_billing_run_across_a_due_date_reaches_the_crm_the_mailbox_and_the_phone(loopback):
    crm, smtp, messaging = loopback
    call_command("payplan_demo_load", stdout=StringIO())
    call_command("payplan_demo_connect", "--sandbox", crm.url, stdout=StringIO())  # as /amocrm/install would
    account = Account.objects.get(crm_account_id=DEMO_ACCOUNT_ID)
    due = account_today(account) + timedelta(days=5)  # Иванова's first line

    call_command("payplan_billing_run", "--date", (due - timedelta(days=1)).isoformat(), stdout=StringIO())
    assert len(reminders(smtp)) == 1  # the day before: the latest due step (-3, missed) goes out late, once
    assert sms(messaging) == []

    out = StringIO()
    call_command("payplan_billing_run", "--date", due.isoformat(), stdout=out)
    assert "planned 3, skipped 0, sent 2, failed 0" in out.getvalue()  # email, SMS (sent), manager task (a CRM event)
    drain(account)

    email = reminders(smtp)[-1]
    body = email.message.get_body(preferencelist=("plain",)).get_content()
    assert f"Здравствуйте, Мария Иванова! Сегодня, {due:%d.%m.%Y}, срок платежа" in body
    assert "/r/" in body
    [text] = [message for message in sms(messaging) if message["to"] == "79123456789"]
    assert "Мария Иванова" in text["text"]
    tasks = [task for task in crm_tasks(crm) if task.get("entity_id") == IVANOVA_LEAD]
    texts = [task["text"] for task in tasks]
    assert any(text.startswith("Клиент Мария Иванова не оплатил(а)") for text in texts)  # overdue, same day
    assert any("Шаг напоминаний: день +0" in text for text in texts)  # the ladder's manager task

    call_command("payplan_billing_run", "--date", due.isoformat(), stdout=StringIO())  # the same day again
    drain(account)
    assert len(reminders(smtp)) == 2
    assert len(sms(messaging)) == 1
    assert len([task for task in crm_tasks(crm) if task.get("entity_id") == IVANOVA_LEAD]) == len(tasks)
