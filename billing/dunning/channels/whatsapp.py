"""WhatsApp through the official WhatsApp Business Platform Cloud API (a template message).

POST {base}/{version}/{phone_number_id}/messages, Authorization: Bearer <token>. Outside the 24-hour
service window only approved templates may be sent, so the reminder text goes as the template's one
body parameter. Success: {"messages": [{"id": "wamid..."}]}; failure: {"error": {"code", "message"}}.
"""
from django.utils.translation import gettext_noop

from billing.dunning.channels import http
from billing.dunning.channels.base import (
    Delivery,
    OutgoingMessage,
    PermanentChannelError,
    TemporaryChannelError,
)

# Throttling and "service temporarily unavailable" codes of the Cloud API.
TEMPORARY_CODES = {4, 80007, 130429, 131000, 131016, 133004}


class WhatsAppCloudProvider:
    def __init__(self, *, base_url: str, api_version: str, phone_number_id: str, token: str,
                 template: str = "payment_reminder", language: str = "ru") -> None:
        if not token or not phone_number_id:
            raise PermanentChannelError(gettext_noop("WhatsApp: the token or phone_number_id is not set"))
        self.url = f"{base_url.rstrip('/')}/{api_version}/{phone_number_id}/messages"
        self.token = token
        self.template = template
        self.language = language

    def send(self, message: OutgoingMessage) -> Delivery:
        payload = {
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": message.recipient,
            "type": "template",
            "template": {"name": self.template, "language": {"code": self.language},
                         "components": [{"type": "body", "parameters": [{"type": "text", "text": message.text}]}]},
        }
        status, body = http.call("POST", self.url, provider="WhatsApp", json=payload,
                                 headers={"Authorization": f"Bearer {self.token}"})
        if status == 200 and body.get("messages"):
            return Delivery(provider_message_id=str(body["messages"][0].get("id") or ""))
        error = body.get("error") or {}
        kind = TemporaryChannelError if status == 429 or error.get("code") in TEMPORARY_CODES else PermanentChannelError
        code = error.get("code", status)
        if error.get("message"):
            raise kind("WhatsApp %(code)s: %(text)s", code=code, text=error["message"])
        raise kind(gettext_noop("%(provider)s %(code)s: an error"), provider="WhatsApp", code=code)
