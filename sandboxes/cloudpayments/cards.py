"""Test cards and decline reasons the sandbox plays by (contract §1 test cards, §3.3 reason codes)."""
from datetime import date
from typing import Any

from cloudpayments.enums import ERROR_MESSAGES, ReasonCode

DEFAULT_CARD = "4242424242424242"
# These pay fine on the page but their tokens decline 5051 on a token charge.
TOKEN_DECLINE_CARDS = frozenset({"4111111111111111", "5200828282828210", "2200000022222222"})
INSUFFICIENT_FUNDS_CARDS = frozenset({
    "4012888888881881", "5105105105105100", "2202202202202200",
    "4000056655665556", "5404000000000043", "2203000000000043",
})
INSUFFICIENT_FUNDS = ReasonCode.INSUFFICIENT_FUNDS
DECLINE_TOKEN_PREFIX = "decline_"
# A token starting with this answers every charge with the 3-D Secure form (AcsUrl, PaReq), as a card
# whose bank insists on the cardholder would.
THREE_DS_TOKEN_PREFIX = "3ds_"
THREE_DS = "3ds"  # a scripted token outcome: the 3-D Secure answer
DEFAULT_EXP = "12/30"
EXPIRED_CARD = ReasonCode.EXPIRED_CARD

# ReasonCode.INSUFFICIENT_FUNDS -> "InsufficientFunds", the spelling of the API's Reason field.
REASONS = {code: name.title().replace("_", "") for name, code in vars(ReasonCode).items() if name.isupper()}

# What the cabinet logs for a Check answer (contract §3.2); used as the Fail's ReasonCode.
CHECK_DECLINE_CODES = {10: 3001, 11: 3002, 12: 3003, 20: 3004, 13: 3008}
CHECK_UNEXPECTED_CODE = 3005
CHECK_NO_ANSWER = 3007


def normalize_card(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


def card_type(card: str) -> str:
    return {"2": "МИР", "4": "Visa", "5": "Mastercard", "6": "Maestro"}.get(card[:1], "Unknown")


def reason_for(code: int) -> str:
    return REASONS.get(code, "Declined")


def cardholder_message(code: int) -> str | None:
    return ERROR_MESSAGES[code][1] if code in ERROR_MESSAGES else None


def check_decline_code(answer_code: int | None) -> int:
    if answer_code is None:
        return CHECK_NO_ANSWER
    return CHECK_DECLINE_CODES.get(answer_code, CHECK_UNEXPECTED_CODE)


def card_expired(exp: str, today: date) -> bool:
    """MM/YY is good through the last day of that month."""
    month, year = (int(part) for part in exp.split("/"))
    return (2000 + year, month) < (today.year, today.month)


def payer_details(card: str | None, exp: str = DEFAULT_EXP) -> dict[str, Any]:
    """Card and payer fields shared by the Transaction model and notifications (None when no card)."""
    card = card or ""
    return {
        "CardFirstSix": card[:6] or None,
        "CardLastFour": card[-4:] or None,
        "CardExpDate": exp if card else None,
        "CardType": card_type(card) if card else None,
        "Issuer": "Sandbox Bank" if card else None,
        "IssuerBankCountry": "RU" if card else None,
        "Name": "CARD HOLDER" if card else None,
        "IpAddress": "127.0.0.1",
        "IpCountry": "RU",
        "IpCity": None,
        "IpRegion": None,
        "IpDistrict": None,
        "IpLatitude": None,
        "IpLongitude": None,
    }
