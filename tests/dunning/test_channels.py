"""Channel adapters against the loopback messaging sandbox: success, 5xx retried, permanent failure shown."""
import json

import pytest
import requests
from django.core import mail
from django.test import Client

from billing.dunning.channels import OutgoingMessage, PermanentChannelError, TemporaryChannelError
from billing.dunning.channels.smsru import SmsRuProvider
from billing.dunning.channels.telegram import TelegramBotProvider
from billing.dunning.channels.whatsapp import WhatsAppCloudProvider
from billing.dunning.links import telegram_start_token
from billing.dunning.models import StepRun, TelegramChat
from billing.dunning.services import channel_settings_set, dunning_policy_set
from sandboxes.messaging import MessagingSandbox
from tests.dunning.conftest import at, make_deal, tick

SMS_KEY, WA_TOKEN, TG_TOKEN = "sms-api-id-school", "wa-token-school", "123456:tg-token-school"


@pytest.fixture
def sandbox(settings):
    server = MessagingSandbox(sms_api_id=SMS_KEY, whatsapp_token=WA_TOKEN, telegram_token=TG_TOKEN).start()
    settings.DUNNING_SMSRU_URL = settings.DUNNING_WHATSAPP_URL = settings.DUNNING_TELEGRAM_URL = server.url
    settings.DUNNING_RETRY_BACKOFF_SECONDS = 60
    yield server
    server.stop()


@pytest.fixture
def channels(school):
    channel_settings_set(account=school, channel="sms", secret=SMS_KEY, options={"sender": "School"})
    channel_settings_set(account=school, channel="whatsapp", secret=WA_TOKEN,
                         options={"phone_number_id": "1065550001", "template": "payment_reminder"})
    channel_settings_set(account=school, channel="telegram", secret=TG_TOKEN,
                         options={"bot_username": "school_pay_bot", "webhook_secret": "tg-hook-secret"})


def message(channel="client_sms", recipient="79123456789") -> OutgoingMessage:
    return OutgoingMessage(channel=channel, recipient=recipient, subject="", text="Напоминание: 25 000,00 ₽",
                           idempotency_key="k1")


def test_sms_and_whatsapp_go_out_on_day_three(school, sandbox, channels):
    deal = make_deal(school)
    tick(at(school, "2026-12-05 18:30"))
    tick(at(school, "2026-12-08 10:00"))
    [sms] = sandbox.messages("sms")
    [whatsapp] = sandbox.messages("whatsapp")
    assert (sms["to"], sms["sender"]) == ("79123456789", "School")
    assert "25 000,00 ₽ по сроку 05.12.2026" in sms["text"]
    assert "/r/" in sms["text"]
    assert (whatsapp["template"], whatsapp["phone_number_id"], whatsapp["to"]) == (
        "payment_reminder", "1065550001", "79123456789")
    sent = StepRun.objects.filter(deal=deal, channel__in=["client_sms", "client_whatsapp"])
    assert {(run.status, run.provider_message_id[:4]) for run in sent} == {("sent", "sms-"), ("sent", "wami")}


def test_a_5xx_is_retried_and_then_delivered_once(school, sandbox, channels):
    make_deal(school)
    tick(at(school, "2026-12-05 18:30"))
    sandbox.set_faults("sms", fail_next=1, status=503)
    tick(at(school, "2026-12-08 10:00"))
    sms = StepRun.objects.get(step_key="+3:client_sms")
    assert (sms.status, sms.error) == ("retrying", "SMS.ru: HTTP 503")
    tick(at(school, "2026-12-08 10:01"))
    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == ("sent", 2)
    assert len(sandbox.messages("sms")) == 1


def test_a_permanent_refusal_is_shown_with_the_providers_reason(school, sandbox, channels):
    make_deal(school)
    tick(at(school, "2026-12-05 18:30"))
    sandbox.set_faults("whatsapp", reject_next=1)
    channel_settings_set(account=school, channel="sms", secret="a-wrong-key", options={})
    tick(at(school, "2026-12-08 10:00"))
    runs = {run.channel: run for run in StepRun.objects.filter(day=3)}
    assert (runs["client_sms"].status, runs["client_sms"].error) == ("failed", "SMS.ru 200: Неправильный api_id")
    assert (runs["client_whatsapp"].status, runs["client_whatsapp"].error) == (
        "failed", "WhatsApp 131026: Message Undeliverable.")
    assert runs["client_sms"].attempts == 1


def test_a_channel_that_is_not_set_up_fails_visibly(school, sandbox):
    make_deal(school)
    tick(at(school, "2026-12-05 18:30"))
    tick(at(school, "2026-12-08 10:00"))
    sms = StepRun.objects.get(step_key="+3:client_sms")
    assert (sms.status, sms.error) == ("failed", "Канал SMS не настроен")


def test_a_dropped_connection_is_temporary(sandbox):
    sandbox.set_faults("telegram", drop_next=1)
    with pytest.raises(TemporaryChannelError):
        TelegramBotProvider(base_url=sandbox.url, token=TG_TOKEN).send(message("client_telegram", "555"))
    assert TelegramBotProvider(base_url=sandbox.url, token=TG_TOKEN).send(
        message("client_telegram", "555")).provider_message_id


def test_a_slow_provider_times_out_as_temporary(sandbox, settings):
    settings.DUNNING_HTTP_READ_TIMEOUT = 0.3
    sandbox.set_faults("sms", delay_seconds=0.8)
    with pytest.raises(TemporaryChannelError, match="no answer in time"):
        SmsRuProvider(base_url=sandbox.url, api_id=SMS_KEY).send(message())


def test_bad_numbers_and_keys_are_permanent(sandbox):
    with pytest.raises(PermanentChannelError, match="202"):
        SmsRuProvider(base_url=sandbox.url, api_id=SMS_KEY).send(message(recipient="12345"))
    with pytest.raises(PermanentChannelError, match="190"):
        WhatsAppCloudProvider(base_url=sandbox.url, api_version="v21.0", phone_number_id="1", token="nope").send(
            message("client_whatsapp"))
    sandbox.set_faults("telegram", reject_next=1)
    with pytest.raises(PermanentChannelError, match="blocked"):
        TelegramBotProvider(base_url=sandbox.url, token=TG_TOKEN).send(message("client_telegram", "555"))


def test_telegram_start_binds_the_chat_and_the_ladder_uses_it(school, sandbox, channels):
    deal = make_deal(school)
    dunning_policy_set(account=school, config={"steps": [{"day": 1, "channel": "client_telegram"}]})
    update = {"update_id": 1, "message": {"message_id": 1, "chat": {"id": 424242, "type": "private"},
                                          "text": f"/start {telegram_start_token(deal.pk)}"}}
    client = Client()
    url = f"/dunning/telegram/{school.webhook_key}"
    refused = client.post(url, json.dumps(update), content_type="application/json",
                          HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN="wrong")
    assert refused.status_code == 404
    assert not TelegramChat.objects.exists()
    forged = {**update, "message": {**update["message"], "text": f"/start {telegram_start_token(deal.pk)[:-2]}xx"}}
    client.post(url, json.dumps(forged), content_type="application/json",
                HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN="tg-hook-secret")
    assert not TelegramChat.objects.exists()
    ok = client.post(url, json.dumps(update), content_type="application/json",
                     HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN="tg-hook-secret")
    assert ok.status_code == 200
    assert TelegramChat.objects.get().chat_id == 424242
    tick(at(school, "2026-12-06 10:00"))
    [sent] = sandbox.messages("telegram")
    assert sent["to"] == "424242"
    assert "05.12.2026" in sent["text"]


def test_the_journal_and_faults_are_reachable_over_http(sandbox):
    assert requests.post(f"{sandbox.url}/_sandbox/faults", json={"provider": "sms", "bogus": 1}, timeout=2
                         ).status_code == 400
    assert requests.get(f"{sandbox.url}/_sandbox/messages", timeout=2).json() == {"messages": []}


def test_email_goes_through_djangos_backend(school, provider):
    make_deal(school)
    tick(at(school, "2026-12-02 10:00"))
    [email] = mail.outbox
    assert email.subject == "Напоминание об оплате 25 000,00 ₽ до 05.12.2026"
    assert email.extra_headers["X-PayPlan-Reminder"].startswith("payplan-dunning-")


def test_channel_keys_are_stored_encrypted_and_never_read_back(school, channels):
    from django.db import connection

    from billing.dunning.selectors import channel_settings_get

    with connection.cursor() as cursor:
        cursor.execute("select secret from dunning_channelsettings where channel = 'sms'")
        [(stored,)] = cursor.fetchall()
    assert SMS_KEY not in stored
    shown = channel_settings_get(account=school)
    assert shown["sms"] == {"enabled": True, "has_secret": True, "options": {"sender": "School"}}
    assert SMS_KEY not in json.dumps(shown)


def test_a_channel_failure_is_shown_in_the_accounts_language(school, sandbox):
    school.settings = {**school.settings, "language": "en"}
    school.save(update_fields=["settings"])
    make_deal(school)
    tick(at(school, "2026-12-05 18:30"))
    tick(at(school, "2026-12-08 10:00"))
    sms = StepRun.objects.get(step_key="+3:client_sms")
    assert (sms.status, sms.error) == ("failed", "The SMS channel is not set up")
