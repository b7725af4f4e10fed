"""The payer's HTML pages: an order with Pay and Fail buttons, and the result of an attempt."""
from html import escape
from typing import Any

from sandboxes.cloudpayments.cards import DEFAULT_CARD
from sandboxes.cloudpayments.ledger import Order

STYLE = "body{font-family:sans-serif;max-width:32em;margin:3em auto}button{margin-right:1em}"


def _page(title: str, content: str) -> bytes:
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{content}</body></html>"
            ).encode()


def order_page(order: Order) -> bytes:
    rows = (("Description", order.description), ("Amount", f"{order.amount} {order.currency}"),
            ("Invoice", order.invoice_id or ""), ("Status", "Paid" if order.paid_at else order.status))
    table = "".join(f"<tr><th>{name}</th><td>{escape(str(value))}</td></tr>" for name, value in rows)
    forms = "" if order.status == "Cancelled" else (
        f"<form method=\"post\" action=\"/d/{escape(order.id)}/pay\">"
        f"<label>Card <input name=\"card\" value=\"{DEFAULT_CARD}\"></label> "
        "<button type=\"submit\">Pay</button></form>"
        f"<form method=\"post\" action=\"/d/{escape(order.id)}/fail\">"
        "<button type=\"submit\">Fail</button></form>")
    return _page("CloudPayments sandbox: order", f"<table>{table}</table>{forms}")


def result_page(order: Order, result: dict[str, Any]) -> bytes:
    paid = result["status"] in {"Completed", "Authorized"}
    back = order.success_redirect_url if paid else order.fail_redirect_url
    link = f"<p><a href=\"{escape(back)}\">Back to the shop</a></p>" if back else ""
    summary = (f"<p>Transaction {result['transaction_id']}: {escape(result['status'])}"
               f" (reason code {result['reason_code']}, Check answered {result['check_code']}).</p>")
    return _page("Payment accepted" if paid else "Payment failed", summary + link)


def message_page(title: str, message: str) -> bytes:
    return _page(title, f"<p>{escape(message)}</p>")
