"""SMS through SMS.ru's HTTP API: POST /sms/send with api_id, to, msg, json=1.

The answer is {"status": "OK"|"ERROR", "status_code": N, "sms": {phone: {"status", "status_code",
"sms_id" | "status_text"}}}. Codes 100-103 are accepted; 220 (service busy) and 500 are temporary;
anything else (bad key 200/301, no money 201, bad number 202/207, ...) is permanent.
"""
from django.utils.translation import gettext_noop

from billing.dunning.channels import http
from billing.dunning.channels.base import (
    Delivery,
    OutgoingMessage,
    PermanentChannelError,
    TemporaryChannelError,
)

ACCEPTED = {100, 101, 102, 103}
TEMPORARY = {220, 500}


class SmsRuProvider:
    def __init__(self, *, base_url: str, api_id: str, sender: str = "") -> None:
        if not api_id:
            raise PermanentChannelError(gettext_noop("SMS.ru: the api_id is not set"))
        self.base_url = base_url.rstrip("/")
        self.api_id = api_id
        self.sender = sender

    def send(self, message: OutgoingMessage) -> Delivery:
        data = {"api_id": self.api_id, "to": message.recipient, "msg": message.text, "json": 1}
        if self.sender:
            data["from"] = self.sender
        _status, body = http.call("POST", f"{self.base_url}/sms/send", provider="SMS.ru", data=data)
        if body.get("status") != "OK":
            self._raise(body.get("status_code"), body.get("status_text"))
        result = (body.get("sms") or {}).get(message.recipient) or {}
        if result.get("status") != "OK" or result.get("status_code") not in ACCEPTED:
            self._raise(result.get("status_code"), result.get("status_text"))
        return Delivery(provider_message_id=str(result.get("sms_id") or ""))

    @staticmethod
    def _raise(code, text) -> None:
        error = TemporaryChannelError if code in TEMPORARY else PermanentChannelError
        if text:
            raise error("SMS.ru %(code)s: %(text)s", code=code, text=text)
        raise error(gettext_noop("%(provider)s %(code)s: an error"), provider="SMS.ru", code=code)
