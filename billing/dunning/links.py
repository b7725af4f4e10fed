"""Signed client links: answer pages (/r/<token>/paid|postpone) and the Telegram deep link's start token."""
import base64
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.crypto import salted_hmac

ANSWER_SALT = "payplan.dunning.answer"
TELEGRAM_SALT = "payplan.dunning.telegram"


@dataclass(frozen=True)
class AnswerTarget:
    account_id: int
    line_id: int


def answer_token(*, account_id: int, line_id: int) -> str:
    return signing.dumps([account_id, line_id], salt=ANSWER_SALT)


def answer_links(*, account_id: int, line_id: int) -> dict[str, str]:
    token = answer_token(account_id=account_id, line_id=line_id)
    origin = settings.PAYPLAN_PUBLIC_ORIGIN.rstrip("/")
    return {"paid": origin + reverse("dunning-answer-paid", kwargs={"token": token}),
            "postpone": origin + reverse("dunning-answer-postpone", kwargs={"token": token})}


def answer_token_read(token: str) -> AnswerTarget | None:
    """The line a token names, or None when forged, altered or expired."""
    max_age = settings.DUNNING_ANSWER_LINK_MAX_AGE_DAYS * 86400
    try:
        account_id, line_id = signing.loads(token, salt=ANSWER_SALT, max_age=max_age)
        return AnswerTarget(int(account_id), int(line_id))
    except (signing.BadSignature, ValueError, TypeError):
        return None


def _telegram_mac(deal_id: int) -> str:
    digest = salted_hmac(TELEGRAM_SALT, str(deal_id), algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def telegram_start_token(deal_id: int) -> str:
    """Telegram's start parameter allows 64 chars of [A-Za-z0-9_-]: base36 id, '-', then a 22-char MAC."""
    return f"{_base36(deal_id)}-{_telegram_mac(deal_id)}"


def telegram_start_token_read(token: str) -> int | None:
    head, _, mac = token.partition("-")
    try:
        deal_id = int(head, 36)
    except ValueError:
        return None
    return deal_id if hmac.compare_digest(mac, _telegram_mac(deal_id)) else None


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if number == 0:
            return text
