"""A loopback SMS.ru + WhatsApp Cloud API + Telegram Bot API, with a journal and fault switches."""
from sandboxes.messaging.server import MessagingSandbox

__all__ = ["MessagingSandbox"]
