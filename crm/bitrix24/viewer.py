"""Who opened a frame: the Bitrix24 user behind its AUTH_ID and whether they administer the portal.

One batch (`user.current` + `user.admin`) with the viewer's own token, sent to the portal's **stored**
REST endpoint (never to the DOMAIN of the POST) through the portal's leaky bucket. Anything short of a
clear answer makes the viewer a non-admin (fail closed); the user id then falls back to what the
authorization server said.
"""
import logging
from dataclasses import dataclass

import requests

from crm.bitrix24 import oauth
from crm.bitrix24.client import portal_session
from crm.bitrix24.models import Portal
from crm.bitrix24.ratelimit import BucketWait, portal_bucket

logger = logging.getLogger(__name__)
MAX_WAIT_SECONDS = 5.0  # a person is waiting for the tab


@dataclass(frozen=True)
class Viewer:
    user_id: int
    is_admin: bool


def viewer_get(*, portal: Portal, access_token: str, user_id_hint: int) -> Viewer:
    try:
        portal_bucket().acquire(portal.member_id, max_wait=MAX_WAIT_SECONDS)
        response = portal_session(portal.member_id).post(
            f"{portal.client_endpoint.rstrip('/')}/batch.json",
            json={"halt": 0, "cmd": {"me": "user.current", "admin": "user.admin"}, "auth": access_token},
            timeout=oauth.timeouts(), allow_redirects=False)
        body = response.json() if response.status_code == 200 else {}
    except (BucketWait, requests.RequestException, ValueError) as exc:
        logger.info("Bitrix24 portal %s: viewer not read (%s); not an admin", portal.member_id, type(exc).__name__)
        return Viewer(user_id_hint, False)
    results = ((body.get("result") or {}).get("result") or {}) if isinstance(body, dict) else {}
    me = results.get("me") if isinstance(results.get("me"), dict) else {}
    user_id = oauth.int_or_none(me.get("ID")) or user_id_hint
    if user_id_hint and user_id != user_id_hint:
        logger.warning("Bitrix24 portal %s: the token's user %s is not the authorization server's %s",
                       portal.member_id, user_id, user_id_hint)
        return Viewer(user_id_hint, False)
    return Viewer(user_id, results.get("admin") is True)
