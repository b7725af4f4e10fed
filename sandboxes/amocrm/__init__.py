"""Loopback amoCRM sandbox (OAuth, REST API v4, webhooks, limits, faults) for offline tests and demos."""

from .clock import ManualClock
from .core import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REDIRECT_URI
from .journal import JournalEntry
from .models import Account
from .seed import demo_account
from .server import CrmSandbox
from .widget_token import widget_token_encode

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_REDIRECT_URI",
    "Account",
    "CrmSandbox",
    "JournalEntry",
    "ManualClock",
    "demo_account",
    "widget_token_encode",
]
