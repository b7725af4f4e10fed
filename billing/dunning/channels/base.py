"""The provider interface: plain data in, a Delivery or a typed error out; services never see HTTP."""
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str  # client_email, client_sms, client_whatsapp, client_telegram
    recipient: str  # an email, a phone in digits (7XXXXXXXXXX) or a Telegram chat id
    subject: str
    text: str
    idempotency_key: str  # stable per step run, for providers that deduplicate


@dataclass(frozen=True)
class Delivery:
    provider_message_id: str


class ChannelError(Exception):
    """A failed send, safe to show on the deal. `message` is PayPlan's English msgid (gettext_noop) or the
    provider's own words; `params` (the provider's words, codes) fill it. `.reason` is the English text;
    the service layer shows it in the account's language (billing.dunning.services.channel_error_text)."""

    temporary = False

    def __init__(self, message: str, **params: object) -> None:
        self.template = message
        self.params = params
        self.reason = (message % params if params else message)[:500]
        super().__init__(self.reason)


class TemporaryChannelError(ChannelError):
    """Timeout, connection refused, 5xx, throttling: try again later."""

    temporary = True


class PermanentChannelError(ChannelError):
    """Bad number, blocked bot, refused key, channel not configured: retrying will not help."""


class Provider(Protocol):
    def send(self, message: OutgoingMessage) -> Delivery: ...
