"""Client channels behind one interface: email, SMS (SMS.ru), WhatsApp Cloud API, Telegram Bot API."""
from billing.dunning.channels.base import (
    ChannelError,
    Delivery,
    OutgoingMessage,
    PermanentChannelError,
    Provider,
    TemporaryChannelError,
)

__all__ = ["ChannelError", "Delivery", "OutgoingMessage", "PermanentChannelError", "Provider",
           "TemporaryChannelError"]
