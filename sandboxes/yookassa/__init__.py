"""Loopback YooKassa (API v3) for tests and the demo: payments, confirmations, SBP, saved methods, refunds,
HTTP notifications, faults and a journal (contracts/yookassa.md §16). Product code never imports it."""
from sandboxes.yookassa.server import YooKassaSandbox

__all__ = ["YooKassaSandbox"]
