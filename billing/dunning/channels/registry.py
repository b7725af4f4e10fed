"""The provider for an account's channel, built from its stored keys and the base URLs in settings."""
from django.conf import settings
from django.utils.translation import gettext_noop

from billing.dunning.channels.base import PermanentChannelError, Provider
from billing.dunning.channels.email import EmailProvider
from billing.dunning.channels.smsru import SmsRuProvider
from billing.dunning.channels.telegram import TelegramBotProvider
from billing.dunning.channels.whatsapp import WhatsAppCloudProvider
from billing.dunning.models import ChannelSettings
from billing.models import Account

CHANNEL_NAMES = {"client_sms": "SMS", "client_whatsapp": "WhatsApp", "client_telegram": "Telegram"}


def provider_for(*, account: Account, channel: str) -> Provider:
    """Raises PermanentChannelError when the channel is not set up: shown on the deal, never silent."""
    if channel == "client_email":
        reply_to = ((account.settings.get("requisites") or {}).get("email") or "")
        return EmailProvider(reply_to=reply_to)
    stored = ChannelSettings.objects.filter(account=account, channel=channel.removeprefix("client_"),
                                            enabled=True).first()
    if stored is None:
        raise PermanentChannelError(gettext_noop("The %(channel)s channel is not set up"),
                                    channel=CHANNEL_NAMES.get(channel, channel))
    options = stored.options or {}
    if channel == "client_sms":
        return SmsRuProvider(base_url=settings.DUNNING_SMSRU_URL, api_id=stored.secret,
                             sender=options.get("sender", ""))
    if channel == "client_whatsapp":
        return WhatsAppCloudProvider(base_url=settings.DUNNING_WHATSAPP_URL,
                                     api_version=settings.DUNNING_WHATSAPP_API_VERSION,
                                     phone_number_id=str(options.get("phone_number_id") or ""), token=stored.secret,
                                     template=options.get("template") or "payment_reminder",
                                     language=options.get("language") or "ru")
    if channel == "client_telegram":
        return TelegramBotProvider(base_url=settings.DUNNING_TELEGRAM_URL, token=stored.secret)
    raise PermanentChannelError(gettext_noop("Unknown channel %(channel)s"), channel=channel)
