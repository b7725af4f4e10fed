"""YooKassaSandbox: the API v3 on a loopback port, a payer's checkout page, and the notification sender.

API (HTTP Basic shop id : secret key; every POST needs Idempotence-Key ≤ 64 chars, replayed 24 h):
    POST /v3/payments   GET /v3/payments/{id}   POST /v3/payments/{id}/capture|cancel
    POST /v3/refunds    GET /v3/refunds/{id}    GET /v3/me
    POST /v3/payouts    GET /v3/payouts/{id}    GET /v3/sbp_banks   (a payout gateway's agent id : its key)
Payer (what the confirmation_url opens):
    GET /checkout/{id}  (an SBP payment shows its QR payload)   POST /checkout/{id}/pay | /decline?reason=…
Control:
    GET /_sandbox/journal   POST /_sandbox/faults {fail_next, status, lose_next, delay_seconds, charge_outcome,
    refund_outcome, notify_copies, notify, payout_outcome}   POST /_sandbox/notify {"event", "id"}
    POST /_sandbox/payouts/{id}/settle {"outcome"}   POST /_sandbox/reset
Notifications: POST {"type": "notification", "event", "object"} to the shop's notify URL, retried until 200.
Only loopback addresses are bound.
"""
import base64
import html
import ipaddress
import json
import logging
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from sandboxes.yookassa import api
from sandboxes.yookassa.store import MAX_KEY_LENGTH, ApiError, Faults, Shop, Store, now_iso

logger = logging.getLogger(__name__)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(type(value).__name__)


class YooKassaSandbox:
    """`shops`: {shop_id: (secret_key, notify_url or None)}; `payout_gateways` the same for payout gateways
    (agent id: (secret key, notify URL))."""

    def __init__(self, shops: dict[str, tuple[str, str | None]], host: str = "127.0.0.1", port: int = 0, *,
                 notify_attempts: int = 3, notify_timeout: float = 10, notify_retry_seconds: float = 0.05,
                 public_url: str | None = None,
                 payout_gateways: dict[str, tuple[str, str | None]] | None = None) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError("the YooKassa sandbox binds loopback addresses only")
        self.store = Store({shop_id: Shop(shop_id, secret, url) for shop_id, (secret, url) in shops.items()})
        for agent_id, (secret, url) in (payout_gateways or {}).items():
            self.store.shops[agent_id] = Shop(agent_id, secret, url, payouts=True)
        self.notify_attempts, self.notify_timeout = notify_attempts, notify_timeout
        self.notify_retry_seconds = notify_retry_seconds
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.sandbox = self  # type: ignore[attr-defined]
        self.url = f"http://{host}:{self._httpd.server_address[1]}"
        self.public_url = (public_url or self.url).rstrip("/")
        self.api_url = self.url + "/v3/"
        self._thread: threading.Thread | None = None
        self._in_flight = 0

    # ---- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> "YooKassaSandbox":
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # ---- what tests (and the payer page) do -------------------------------------------------------------
    @property
    def journal(self) -> list[dict]:
        return self.store.journal

    @property
    def payments(self) -> dict[str, dict]:
        return self.store.payments

    def set_faults(self, reset: bool = False, **changes: Any) -> None:
        with self.store.lock:
            if reset:
                self.store.faults = Faults()
            for key, value in changes.items():
                if not hasattr(self.store.faults, key):
                    raise ValueError(f"unknown fault {key}")
                setattr(self.store.faults, key, value)

    def pay(self, payment_id: str) -> dict:
        payment = api.payer_pays(self.store, payment_id)
        event = "payment.succeeded" if payment["status"] == "succeeded" else "payment.waiting_for_capture"
        return {"payment": payment, "deliveries": self.notify(event, payment)}

    def decline(self, payment_id: str, reason: str = "general_decline") -> dict:
        payment = api.payer_declines(self.store, payment_id, reason)
        return {"payment": payment, "deliveries": self.notify("payment.canceled", payment)}

    @property
    def payouts(self) -> dict[str, dict]:
        return self.store.payouts

    def settle_payout(self, payout_id: str, outcome: str = "succeeded") -> dict:
        """A pending payout ends; its notification goes to the payout gateway's URL."""
        payout = api.payout_settle(self.store, payout_id, outcome)
        event = "payout.succeeded" if payout["status"] == "succeeded" else "payout.canceled"
        return {"payout": payout, "deliveries": self.notify(event, payout)}

    def revoke_method(self, method_id: str) -> None:
        with self.store.lock:
            self.store.revoked_methods.add(method_id)

    def notify_later(self, event: str, obj: dict) -> None:
        """As YooKassa does: the notification of an API call's result comes after its answer."""
        with self.store.lock:
            self._in_flight += 1

        def send() -> None:
            try:
                self.notify(event, obj)
            finally:
                with self.store.lock:
                    self._in_flight -= 1

        threading.Thread(target=send, daemon=True).start()

    def settle(self, timeout: float = 15) -> None:
        """Wait until every notification sent in the background has been answered (tests)."""
        deadline = time.monotonic() + timeout
        while self._in_flight and time.monotonic() < deadline:
            time.sleep(0.02)

    def notification_body(self, event: str, obj: dict) -> bytes:
        return json.dumps({"type": "notification", "event": event, "object": obj},
                          default=_json_default).encode()

    def notify(self, event: str, obj: dict) -> list[dict]:
        """Deliver one event to the shop's URL (`notify_copies` times), each retried until HTTP 200."""
        shop_id = ((obj.get("recipient") or {}).get("account_id") or self._shop_of_refund(obj)
                   or obj.get("gateway_id"))
        shop = self.store.shops.get(shop_id or "")
        if shop is None or not shop.notify_url or not self.store.faults.notify:
            return []
        body = self.notification_body(event, obj)
        deliveries = []
        for _copy in range(max(1, self.store.faults.notify_copies)):
            deliveries.append(self._deliver(shop.notify_url, event, obj.get("id"), body))
        return deliveries

    def _shop_of_refund(self, obj: dict) -> str | None:
        payment = self.store.payments.get(obj.get("payment_id") or "")
        return (payment or {}).get("recipient", {}).get("account_id")

    def _deliver(self, url: str, event: str, object_id: str | None, body: bytes) -> dict:
        record: dict[str, Any] = {"event": event, "id": object_id, "url": url, "attempts": 0, "accepted": False,
                                  "at": now_iso()}
        for attempt in range(self.notify_attempts):
            record["attempts"] = attempt + 1
            try:
                answer = requests.post(url, data=body, headers={"Content-Type": "application/json"},
                                       timeout=self.notify_timeout)
                record["status"] = answer.status_code
                if answer.status_code == 200:
                    record["accepted"] = True
                    break
            except requests.RequestException as exc:
                record["status"] = type(exc).__name__
            time.sleep(self.notify_retry_seconds * (attempt + 1))
        with self.store.lock:
            self.store.deliveries.append(record)
        return record


class _Handler(BaseHTTPRequestHandler):
    server_version = "YooKassaSandbox/1"

    @property
    def sandbox(self) -> YooKassaSandbox:
        return self.server.sandbox  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("yookassa sandbox: " + format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # ---- plumbing -----------------------------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        path = split.path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        store = self.sandbox.store
        entry = {"method": method, "path": path, "at": now_iso(),
                 "headers": {key: value for key, value in self.headers.items() if key.lower() != "authorization"},
                 "body": raw.decode("utf-8", "replace")[:4000]}
        with store.lock:
            store.journal.append(entry)
        try:
            if path.startswith("/v3/"):
                self._api(method, path[4:], raw, entry)
            elif path.startswith("/checkout/"):
                self._payer(method, path, dict(parse_qsl(split.query)))
            elif path.startswith("/_sandbox/"):
                self._control(method, path, raw)
            else:
                self._send(404, {"type": "error", "code": "not_found", "description": "No such route"})
        except ApiError as exc:
            entry["status"] = exc.status
            self._send(exc.status, exc.body())

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, default=_json_default).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type if isinstance(body, bytes) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _shop(self) -> Shop:
        header = self.headers.get("Authorization") or ""
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = "", ""
            shop = self.sandbox.store.shops.get(user)
            if shop is not None and shop.secret_key == password:
                return shop
        raise ApiError(401, "invalid_credentials", "Login and password are wrong or the key is blocked")

    # ---- the API ------------------------------------------------------------------------------------------
    def _api(self, method: str, path: str, raw: bytes, entry: dict) -> None:
        store, sandbox = self.sandbox.store, self.sandbox
        if store.faults.delay_seconds:
            time.sleep(store.faults.delay_seconds)
        shop = self._shop()
        entry["shop"] = shop.shop_id  # whose credentials came (tenant isolation is tested on it)
        if shop.payouts and path.split("/")[0] not in ("payouts", "sbp_banks", "me"):
            raise ApiError(403, "forbidden", "A payout gateway's keys do not take payments")
        fault = store.take_fault()
        if fault is not None:
            entry["status"] = fault
            codes = {429: "too_many_requests", 202: "processing"}
            body: dict[str, Any] = {"type": "error", "id": "fault", "code": codes.get(fault, "internal_server_error"),
                                    "description": "sandbox fault"}
            if fault == 202:
                body = {"type": "processing", "description": "Request accepted", "retry_after": 100}
            self._send(fault, body)
            return
        if method == "GET":
            self._send(200, self._api_get(shop, path))
            return
        key = self.headers.get("Idempotence-Key") or ""
        if not key or len(key) > MAX_KEY_LENGTH:
            raise ApiError(400, "invalid_request", "Idempotence-Key is required (≤ 64 characters)", "Idempotence-Key")
        replay = store.remembered(shop.shop_id, key, path, raw)
        if replay is not None:
            entry["replayed"] = True
            self._send(replay[0], replay[1])
            return
        try:
            body = json.loads(raw or b"{}", parse_float=Decimal)
        except ValueError as exc:
            raise ApiError(400, "invalid_request", "Body is not JSON") from exc
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_request", "Body is not a JSON object")
        answer, event = self._api_post(shop, path, body)
        store.remember(shop.shop_id, key, path, raw, 200, answer)
        entry["status"] = 200
        if event:
            sandbox.notify_later(event, answer)
        if store.take_lose():
            self.close_connection = True  # done, but the answer is lost on the way
            self.connection.shutdown(2)
            return
        self._send(200, answer)

    def _api_get(self, shop: Shop, path: str) -> dict:
        store = self.sandbox.store
        parts = path.strip("/").split("/")
        if parts == ["me"]:
            return {"account_id": shop.shop_id, "test": True, "status": "enabled", "fiscalization_enabled": True,
                    "payment_methods": ["bank_card", "sbp", "yoo_money", "sberbank"]}
        if len(parts) == 2 and parts[0] == "payments":
            return api.payment_get(store, shop, parts[1])
        if len(parts) == 2 and parts[0] == "refunds":
            return api.refund_get(store, shop, parts[1])
        if len(parts) == 2 and parts[0] == "payouts":
            return api.payout_get(store, shop, parts[1])
        if parts == ["sbp_banks"]:
            return {"type": "list", "items": list(api.SBP_BANKS)}
        raise ApiError(404, "not_found", "No such method")

    def _api_post(self, shop: Shop, path: str, body: dict) -> tuple[dict, str | None]:
        store = self.sandbox.store
        parts = path.strip("/").split("/")
        if parts == ["payments"]:
            payment = api.payment_create(store, shop, body, self.sandbox.public_url)
            final = {"succeeded": "payment.succeeded", "canceled": "payment.canceled"}
            return payment, final.get(payment["status"]) if body.get("payment_method_id") else None
        if len(parts) == 3 and parts[0] == "payments" and parts[2] == "cancel":
            return api.payment_cancel(store, shop, parts[1]), "payment.canceled"
        if len(parts) == 3 and parts[0] == "payments" and parts[2] == "capture":
            return api.payment_capture(store, shop, parts[1]), "payment.succeeded"
        if parts == ["refunds"]:
            refund = api.refund_create(store, shop, body)
            return refund, "refund.succeeded" if refund["status"] == "succeeded" else None
        if parts == ["payouts"]:
            payout = api.payout_create(store, shop, body)
            return payout, {"succeeded": "payout.succeeded", "canceled": "payout.canceled"}.get(payout["status"])
        raise ApiError(404, "not_found", "No such method")

    # ---- the payer ----------------------------------------------------------------------------------------
    def _payer(self, method: str, path: str, query: dict) -> None:
        parts = path.strip("/").split("/")
        store = self.sandbox.store
        if method == "GET" and len(parts) == 2:
            payment = store.payments.get(parts[1])
            if payment is None:
                raise ApiError(404, "not_found", "Payment not found")
            self._send(200, _checkout_page(payment).encode(), "text/html; charset=utf-8")
            return
        if method == "POST" and len(parts) == 3 and parts[2] in ("pay", "decline"):
            if parts[2] == "pay":
                self._send(200, self.sandbox.pay(parts[1]))
            else:
                self._send(200, self.sandbox.decline(parts[1], query.get("reason") or "general_decline"))
            return
        raise ApiError(404, "not_found", "No such page")

    # ---- control ------------------------------------------------------------------------------------------
    def _control(self, method: str, path: str, raw: bytes) -> None:
        sandbox = self.sandbox
        body = json.loads(raw or b"{}") if method == "POST" else {}
        if path == "/_sandbox/journal":
            with sandbox.store.lock:
                self._send(200, {"calls": list(sandbox.store.journal), "deliveries": list(sandbox.store.deliveries)})
        elif path == "/_sandbox/faults" and method == "POST":
            try:
                sandbox.set_faults(**body)
            except (TypeError, ValueError) as exc:
                raise ApiError(400, "invalid_request", str(exc)) from exc
            self._send(200, {"ok": True})
        elif path == "/_sandbox/notify" and method == "POST":
            obj = sandbox.store.payments.get(body.get("id")) or sandbox.store.refunds.get(body.get("id"))
            if obj is None:
                raise ApiError(404, "not_found", "No such object")
            self._send(200, {"deliveries": sandbox.notify(str(body.get("event")), api._public(obj))})
        elif path.startswith("/_sandbox/payouts/") and path.endswith("/settle") and method == "POST":
            payout_id = path[len("/_sandbox/payouts/"):-len("/settle")]
            self._send(200, sandbox.settle_payout(payout_id, str(body.get("outcome") or "succeeded")))
        elif path == "/_sandbox/reset" and method == "POST":
            with sandbox.store.lock:
                sandbox.store.journal.clear()
                sandbox.store.deliveries.clear()
                sandbox.store.faults = Faults()
            self._send(200, {"ok": True})
        else:
            raise ApiError(404, "not_found", "No such control route")


def _checkout_page(payment: dict) -> str:
    """The payer's page: amount, description, an SBP QR payload, and Pay / Decline buttons."""
    amount = html.escape(payment["amount"]["value"])
    description = html.escape(payment.get("description") or "")
    sbp = (payment.get("payment_method") or {}).get("type") == "sbp"
    qr = f'<p class="qr">QR СБП: <code>https://qr.nspk.ru/{html.escape(payment["id"])}</code></p>' if sbp else ""
    return (f"<!doctype html><html lang=ru><meta charset=utf-8><title>ЮKassa (песочница)</title>"
            f"<h1>ЮKassa — песочница</h1><p>{description}</p><p>Сумма: {amount} ₽</p>{qr}"
            f"<p>Статус: {html.escape(payment['status'])}</p>"
            f'<form method=post action="/checkout/{payment["id"]}/pay"><button>Оплатить</button></form>'
            f'<form method=post action="/checkout/{payment["id"]}/decline"><button>Отказ банка</button></form>')
