"""Routes beside the API: the payer's pages (/d/...) and the test-only control API (/_sandbox/...)."""
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from billing.gateway import jsonwire
from sandboxes.cloudpayments import pages
from sandboxes.cloudpayments.params import RequestError

if TYPE_CHECKING:
    from sandboxes.cloudpayments.server import SandboxServer

ORDER_PAGE = re.compile(r"/d/(?P<order_id>[^/]+)(?:/(?P<action>pay|fail))?")
ORDER_PAY = re.compile(r"/_sandbox/orders/(?P<order_id>[^/]+)/pay")
TOKEN_SCRIPT = re.compile(r"/_sandbox/tokens/(?P<token>[^/]+)/script")


def handle_page(sandbox: "SandboxServer", method: str, path: str, raw: bytes) -> tuple[int, bytes]:
    match = ORDER_PAGE.fullmatch(path)
    order = sandbox.ledger.orders.get(match["order_id"]) if match else None
    if match is None or order is None:
        return 404, pages.message_page("Not found", "There is no such order.")
    action = match["action"]
    if method == "GET" and action is None:
        return 200, pages.order_page(order)
    if method != "POST" or action is None:
        return 405, pages.message_page("Not allowed", "Use the buttons on the order page.")
    form = dict(parse_qsl(raw.decode("utf-8", errors="replace")))
    try:
        result = sandbox.pay_order(order.id, outcome="success" if action == "pay" else "fail",
                                   card=form.get("card"))
    except RequestError as exc:
        return 409, pages.message_page("Cannot pay", exc.message)
    return 200, pages.result_page(order, result)


def handle_control(sandbox: "SandboxServer", method: str, path: str, raw: bytes) -> tuple[int, Any]:
    """The control API; errors answer {"error": ...} with 400 or 404."""
    try:
        return _control(sandbox, method, path, jsonwire.loads(raw) if raw.strip() else {})
    except LookupError as exc:
        return 404, {"error": str(exc)}
    except RequestError as exc:
        return 400, {"error": exc.message}
    except (ValueError, TypeError) as exc:
        return 400, {"error": str(exc)}


def _control(sandbox: "SandboxServer", method: str, path: str, body: Any) -> tuple[int, Any]:
    if method == "GET" and path == "/_sandbox/journal":
        return 200, {"api": sandbox.journal, "deliveries": sandbox.deliveries,
                     "faults": sandbox.faults.as_dict()}
    if method != "POST" or not isinstance(body, dict):
        raise ValueError("POST a JSON object")
    if path == "/_sandbox/faults":
        sandbox.faults.update(body)
        return 200, {"faults": sandbox.faults.as_dict()}
    if path == "/_sandbox/notify":
        deliveries = sandbox.notify(str(body.get("kind", "")), str(body.get("account_key", "")),
                                    {str(key): str(value) for key, value in (body.get("fields") or {}).items()})
        return 200, {"deliveries": deliveries}
    match = ORDER_PAY.fullmatch(path)
    if match:
        reason_code = body.get("reason_code")
        return 200, sandbox.pay_order(match["order_id"], outcome=body.get("outcome", "success"),
                                      amount=body.get("amount"), card=body.get("card"),
                                      reason_code=int(reason_code) if reason_code is not None else None,
                                      exp=body.get("exp"))
    match = TOKEN_SCRIPT.fullmatch(path)
    if match:
        outcomes = body.get("outcomes")
        if not isinstance(outcomes, list):
            raise ValueError("outcomes must be a list")
        return 200, {"token": match["token"], "outcomes": sandbox.script_token(match["token"], outcomes)}
    raise LookupError(f"no control route {path}")
