"""MessagingSandbox: SMS.ru, WhatsApp Cloud API and Telegram Bot API on one loopback port.

Provider routes (as the real APIs):
    POST /sms/send                                  api_id, to, msg, json=1 (form or query)
    POST /{version}/{phone_number_id}/messages      Authorization: Bearer <token>, a template message
    POST /bot{token}/sendMessage                    {"chat_id", "text"}
Control routes:
    GET  /_sandbox/messages[?provider=sms|whatsapp|telegram]   the journal of accepted messages
    POST /_sandbox/faults   {"provider": "sms", "fail_next": 1, "status": 503 | "drop_next": 1 |
                             "reject_next": 1 | "delay_seconds": 3}
    POST /_sandbox/reset    clears journal and faults
Only loopback addresses are bound.
"""
import ipaddress
import json
import logging
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

logger = logging.getLogger(__name__)
PROVIDERS = ("sms", "whatsapp", "telegram")
WHATSAPP_PATH = re.compile(r"^/v[0-9.]+/(?P<phone_id>[0-9A-Za-z_-]+)/messages$")
TELEGRAM_PATH = re.compile(r"^/bot(?P<token>[^/]+)/sendMessage$")


@dataclass
class Faults:
    fail_next: int = 0  # answer the next N calls with `status` (5xx: temporary)
    status: int = 500
    drop_next: int = 0  # close the next N connections without an answer
    reject_next: int = 0  # refuse the next N messages permanently (bad number / blocked bot)
    delay_seconds: float = 0.0


@dataclass
class Journal:
    messages: list[dict] = field(default_factory=list)
    faults: dict[str, Faults] = field(default_factory=lambda: {name: Faults() for name in PROVIDERS})
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: int = 0

    def take_fault(self, provider: str) -> tuple[str, int] | None:
        with self.lock:
            faults = self.faults[provider]
            if faults.drop_next:
                faults.drop_next -= 1
                return ("drop", 0)
            if faults.fail_next:
                faults.fail_next -= 1
                return ("status", faults.status)
            if faults.reject_next:
                faults.reject_next -= 1
                return ("reject", 0)
            return None

    def record(self, provider: str, to: str, text: str, extra: dict | None = None) -> str:
        with self.lock:
            self.counter += 1
            message_id = f"{provider}-{self.counter}"
            self.messages.append({"id": message_id, "provider": provider, "to": to, "text": text,
                                  "at": datetime.now(UTC).isoformat(), **(extra or {})})
            return message_id


class MessagingSandbox:
    """Keys: the accepted SMS.ru api_id, WhatsApp bearer token and Telegram bot token (None: any non-empty)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, sms_api_id: str | None = None,
                 whatsapp_token: str | None = None, telegram_token: str | None = None) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError("the messaging sandbox binds loopback addresses only")
        self.keys = {"sms": sms_api_id, "whatsapp": whatsapp_token, "telegram": telegram_token}
        self.journal = Journal()
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.sandbox = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "MessagingSandbox":
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True,
                                        name="messaging-sandbox")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def messages(self, provider: str | None = None) -> list[dict]:
        with self.journal.lock:
            return [dict(m) for m in self.journal.messages if provider in (None, m["provider"])]

    def set_faults(self, provider: str, **switches: Any) -> None:
        if provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}")
        with self.journal.lock:
            current = asdict(self.journal.faults[provider])
            unknown = set(switches) - set(current)
            if unknown:
                raise ValueError(f"unknown fault switches: {sorted(unknown)}")
            self.journal.faults[provider] = Faults(**{**current, **switches})

    def reset(self) -> None:
        with self.journal.lock:
            self.journal.messages.clear()
            self.journal.faults = {name: Faults() for name in PROVIDERS}

    def key_ok(self, provider: str, given: str) -> bool:
        expected = self.keys[provider]
        return bool(given) and (expected is None or given == expected)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("messaging sandbox: " + format, *args)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/_sandbox/messages":
            provider = dict(parse_qsl(parts.query)).get("provider")
            self._json(200, {"messages": self.server.sandbox.messages(provider)})  # type: ignore[attr-defined]
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        sandbox: MessagingSandbox = self.server.sandbox  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if parts.path == "/_sandbox/faults":
            body = _json_body(raw)
            try:
                sandbox.set_faults(str(body.pop("provider", "")), **body)
            except (TypeError, ValueError) as exc:
                self._json(400, {"error": str(exc)})
                return
            self._json(200, {"ok": True})
            return
        if parts.path == "/_sandbox/reset":
            sandbox.reset()
            self._json(200, {"ok": True})
            return
        if parts.path == "/sms/send":
            self._provider(sandbox, "sms", lambda: _sms(sandbox, {**dict(parse_qsl(parts.query)),
                                                                  **dict(parse_qsl(raw.decode("utf-8")))}))
        elif match := WHATSAPP_PATH.match(parts.path):
            self._provider(sandbox, "whatsapp", lambda: _whatsapp(sandbox, match["phone_id"],
                                                                  self.headers.get("Authorization", ""),
                                                                  _json_body(raw)))
        elif match := TELEGRAM_PATH.match(parts.path):
            self._provider(sandbox, "telegram", lambda: _telegram(sandbox, match["token"], _json_body(raw)))
        else:
            self._json(404, {"error": "not found"})

    def _provider(self, sandbox: MessagingSandbox, provider: str, answer) -> None:
        delay = sandbox.journal.faults[provider].delay_seconds
        if delay:
            time.sleep(delay)
        fault = sandbox.journal.take_fault(provider)
        if fault and fault[0] == "drop":
            self.close_connection = True
            return
        if fault and fault[0] == "status":
            self._json(fault[1], {"error": f"injected {fault[1]}"})
            return
        self._rejecting = bool(fault and fault[0] == "reject")
        status, body = answer() if not self._rejecting else _rejection(provider)
        self._json(status, body)

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _json_body(raw: bytes) -> dict:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _rejection(provider: str) -> tuple[int, dict]:
    if provider == "sms":
        return 200, {"status": "ERROR", "status_code": 207,
                     "status_text": "На этот номер нельзя отправлять сообщения"}
    if provider == "whatsapp":
        return 400, {"error": {"message": "Message Undeliverable.", "type": "OAuthException", "code": 131026}}
    return 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}


def _sms(sandbox: MessagingSandbox, params: dict) -> tuple[int, dict]:
    if not sandbox.key_ok("sms", params.get("api_id", "")):
        return 200, {"status": "ERROR", "status_code": 200, "status_text": "Неправильный api_id"}
    if not params.get("msg"):
        return 200, {"status": "ERROR", "status_code": 203, "status_text": "Нет текста сообщения"}
    result = {}
    for phone in filter(None, params.get("to", "").split(",")):
        if not re.fullmatch(r"7\d{10}", phone):
            result[phone] = {"status": "ERROR", "status_code": 202,
                             "status_text": "Неправильно указан номер телефона получателя"}
            continue
        message_id = sandbox.journal.record("sms", phone, params["msg"], {"sender": params.get("from", "")})
        result[phone] = {"status": "OK", "status_code": 100, "sms_id": message_id}
    return 200, {"status": "OK", "status_code": 100, "sms": result, "balance": 1000.0}


def _whatsapp(sandbox: MessagingSandbox, phone_id: str, authorization: str, body: dict) -> tuple[int, dict]:
    if not sandbox.key_ok("whatsapp", authorization.removeprefix("Bearer ").strip()):
        return 401, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}
    template = body.get("template") or {}
    if body.get("messaging_product") != "whatsapp" or body.get("type") != "template" or not template.get("name"):
        return 400, {"error": {"message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100}}
    to = str(body.get("to") or "")
    if not re.fullmatch(r"\d{10,15}", to):
        return 400, {"error": {"message": "Recipient phone number not valid", "code": 131009}}
    parameters = [p.get("text", "") for c in template.get("components") or [] for p in c.get("parameters") or []]
    message_id = sandbox.journal.record("whatsapp", to, "\n".join(parameters),
                                        {"template": template["name"], "phone_number_id": phone_id,
                                         "language": (template.get("language") or {}).get("code")})
    return 200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                 "messages": [{"id": f"wamid.{message_id}"}]}


def _telegram(sandbox: MessagingSandbox, token: str, body: dict) -> tuple[int, dict]:
    if not sandbox.key_ok("telegram", token):
        return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
    chat_id, text = body.get("chat_id"), body.get("text")
    if not chat_id or not text:
        return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    message_id = sandbox.journal.record("telegram", str(chat_id), str(text))
    return 200, {"ok": True, "result": {"message_id": int(message_id.rsplit("-", 1)[1]),
                                        "chat": {"id": chat_id, "type": "private"}, "text": text}}
