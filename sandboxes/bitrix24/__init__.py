"""Loopback Bitrix24 (authorization server, portal REST with batch and limits, install, frames, events,
faults, journal) for offline tests and demos: `python -m sandboxes.bitrix24 --port 8104`."""
from .server import Bitrix24Sandbox
from .state import ADMIN_USER_ID, DEFAULT_MEMBER_ID, MANAGER_USER_ID, SECOND_MEMBER_ID

DEFAULT_CLIENT_ID = "local.payplan0000000001.00000001"
DEFAULT_CLIENT_SECRET = "payplan-local-bitrix24-client-secret"

__all__ = ["ADMIN_USER_ID", "DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "DEFAULT_MEMBER_ID", "MANAGER_USER_ID",
           "SECOND_MEMBER_ID", "Bitrix24Sandbox"]
