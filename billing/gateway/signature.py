"""HMAC signatures of CloudPayments notifications, both header variants (contract §3.1)."""
import base64
import hashlib
import hmac
from urllib.parse import unquote_plus


def sign(secret: str, message: bytes) -> str:
    """base64(HMAC-SHA256(key=secret as UTF-8, message))."""
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def decoded_message(raw_body: bytes) -> bytes | None:
    """The X-Content-HMAC message: the body URL-decoded (`+` to space, %XX to bytes) as UTF-8."""
    try:
        return unquote_plus(raw_body.decode("utf-8"), encoding="utf-8", errors="strict").encode("utf-8")
    except UnicodeDecodeError:
        return None


def _matches(expected: str, received: str | None) -> bool:
    if not received:
        return False
    # Bytes, because compare_digest refuses non-ASCII str and a header is attacker-controlled.
    return hmac.compare_digest(expected.encode("ascii"), received.strip().encode("utf-8"))


def verify_notification(secret: str | None, raw_body: bytes, content_hmac: str | None,
                        x_content_hmac: str | None) -> bool:
    """True when Content-HMAC signs the raw body or X-Content-HMAC signs the decoded one. An empty or
    missing secret verifies nothing: anyone can compute an HMAC with an empty key."""
    if not secret or not secret.strip():
        return False
    if _matches(sign(secret, raw_body), content_hmac):
        return True
    decoded = decoded_message(raw_body) if x_content_hmac else None
    return decoded is not None and _matches(sign(secret, decoded), x_content_hmac)
