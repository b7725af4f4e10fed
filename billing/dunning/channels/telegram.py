"""Telegram through the Bot API: POST {base}/bot<token>/sendMessage {chat_id, text}.

Answers are {"ok": true, "result": {"message_id"}} or {"ok": false, "error_code", "description"};
429 (with retry_after) and 5xx are temporary, 400/403 (chat not found, bot blocked) permanent.
"""
from django.utils.translation import gettext_noop

from billing.dunning.channels import http
from billing.dunning.channels.base import (
    Delivery,
    OutgoingMessage,
    PermanentChannelError,
    TemporaryChannelError,
)


class TelegramBotProvider:
    def __init__(self, *, base_url: str, token: str) -> None:
        if not token:
            raise PermanentChannelError(gettext_noop("Telegram: the bot token is not set"))
        self.url = f"{base_url.rstrip('/')}/bot{token}/sendMessage"

    def send(self, message: OutgoingMessage) -> Delivery:
        status, body = http.call("POST", self.url, provider="Telegram",
                                 json={"chat_id": message.recipient, "text": message.text,
                                       "disable_web_page_preview": True})
        if body.get("ok"):
            return Delivery(provider_message_id=str((body.get("result") or {}).get("message_id") or ""))
        error = TemporaryChannelError if status == 429 or body.get("error_code") == 429 else PermanentChannelError
        code = body.get("error_code", status)
        if body.get("description"):
            raise error("Telegram %(code)s: %(text)s", code=code, text=body["description"])
        raise error(gettext_noop("%(provider)s %(code)s: an error"), provider="Telegram", code=code)
