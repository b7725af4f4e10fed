"""CloudPayments decline codes (ReasonCode, contract §3.3) in words a manager reads: the one table."""
from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# gettext_lazy: the text is chosen in the language active when it is shown (ru for a Russian account).
DECLINE_REASONS = {
    5001: gettext_lazy("The card's bank declined the payment: the client should call the bank"),
    5003: gettext_lazy("The bank refused to accept payments from this shop"),
    5004: gettext_lazy("The card is blocked by the bank"),
    5005: gettext_lazy("Declined by the card's bank"),
    5006: gettext_lazy("Network refusal or a wrong CVV code"),
    5007: gettext_lazy("The card is blocked by the bank"),
    5012: gettext_lazy("The card cannot pay online"),
    5013: gettext_lazy("The bank did not accept the amount"),
    5014: gettext_lazy("Wrong card number"),
    5015: gettext_lazy("Unknown card bank"),
    5017: gettext_lazy("The payer cancelled the payment"),
    5019: gettext_lazy("The payment could not be carried out"),
    5030: gettext_lazy("The bank could not read the payment request"),
    5031: gettext_lazy("Unknown card bank"),
    5033: gettext_lazy("The card has expired and is blocked"),
    5034: gettext_lazy("Suspected fraud: the bank declined the payment"),
    5036: gettext_lazy("The card has restrictions"),
    5041: gettext_lazy("The card is reported lost"),
    5043: gettext_lazy("The card is reported stolen"),
    5051: gettext_lazy("Insufficient funds"),
    5054: gettext_lazy("The card has expired"),
    5055: gettext_lazy("Wrong PIN code"),
    5057: gettext_lazy("The card's bank does not allow this payment"),
    5058: gettext_lazy("The card cannot be used for this payment"),
    5059: gettext_lazy("Suspected fraud: the bank declined the payment"),
    5061: gettext_lazy("The card's amount limit is exceeded"),
    5062: gettext_lazy("The card has restrictions"),
    5063: gettext_lazy("The bank's security check failed"),
    5065: gettext_lazy("The card's limit on the number of payments is exceeded"),
    5082: gettext_lazy("Wrong CVV code"),
    5091: gettext_lazy("The card's bank is unavailable: try again later"),
    5092: gettext_lazy("The card's bank is unavailable: try again later"),
    5096: gettext_lazy("The bank's system error: try again later"),
    5113: gettext_lazy("Cards of foreign banks are not accepted"),
    5204: gettext_lazy("The payment cannot be processed"),
    5206: gettext_lazy("3-D Secure check failed"),
    5207: gettext_lazy("3-D Secure check is unavailable"),
    5300: gettext_lazy("The acquiring bank's limits are exceeded"),
    5303: gettext_lazy("The payment terminal's limit is exceeded"),
    5761: gettext_lazy("The payer's phone number is missing"),
    5762: gettext_lazy("The payer's phone number is invalid"),
    5763: gettext_lazy("The payer's phone number does not match"),
}
SBP_CODES = range(6001, 6018)
# Reasons PayPlan itself writes on an invoice (no bank code), shown in the same words.
OWN_REASONS = {"The card hold was cancelled.": gettext_lazy("The card hold was cancelled.")}


def decline_reason_text(code: int | None, reason: str = "") -> str:
    """The bank's reason in the active language; an unknown code is still named, never hidden."""
    if code in DECLINE_REASONS:
        return str(DECLINE_REASONS[code])
    if code is not None and code in SBP_CODES:
        return _("The Faster Payments System (SBP) declined the payment (code %(code)s)") % {"code": code}
    if code:
        return _("The bank declined the payment (code %(code)s)") % {"code": code}
    if reason in OWN_REASONS:
        return str(OWN_REASONS[reason])
    return _("The bank declined the payment") if reason else ""


class DeclineKind(StrEnum):
    SOFT = "soft"  # may pass later (no money today, issuer unavailable): retried on the schedule
    HARD = "hard"  # never charge this token again: the client must pay by link and save a card anew


@dataclass(frozen=True)
class DeclineReason:
    code: int
    kind: DeclineKind
    text: str  # in the active language


EXPIRED_CARD = 5054
THREE_DS_FAILED = 5206

# Contract §3.3: after these the documentation says to stop charging the token; lost, stolen, restricted,
# invalid and expired cards are added (no retry of a card that no longer exists can succeed).
_HARD = {5001, 5003, 5004, 5005, 5007, 5012, 5014, 5015, 5017, 5033, 5034, 5036, 5041, 5043, 5054, 5057, 5058,
         5059, 5062, 5206, 5207}
NEEDS_CLIENT = gettext_lazy("The bank asks the cardholder to confirm the payment (3-D Secure).")


def decline_reason(code: int | None) -> DeclineReason:
    """The reason for a ReasonCode, with whether a saved card may be charged again (unknown codes: soft)."""
    code = int(code or 0)
    return DeclineReason(code=code, kind=DeclineKind.HARD if code in _HARD else DeclineKind.SOFT,
                         text=decline_reason_text(code or None, "declined"))


def decline_text(code: int | None) -> str:
    return decline_reason(code).text


# YooKassa's `cancellation_details.reason` (contracts/yookassa.md §4) in the same catalogue: each maps to the
# bank code with the same meaning, so one table words the reason and says whether a saved method is retried.
# Unknown reasons count as general_decline (§4).
YOOKASSA_REASON_CODES = {
    "3d_secure_failed": 5206, "call_issuer": 5001, "canceled_by_merchant": 5019, "card_expired": 5054,
    "country_forbidden": 5113, "expired_on_capture": 5019, "expired_on_confirmation": 5019,
    "fraud_suspected": 5034, "general_decline": 5005, "identification_required": 5063,
    "insufficient_funds": 5051, "internal_timeout": 5092, "invalid_card_number": 5014, "invalid_csc": 5082,
    "issuer_unavailable": 5091, "payment_method_limit_exceeded": 5061, "payment_method_restricted": 5036,
    "permission_revoked": 5057, "rejected_by_timeout": 5092,
}


def yookassa_reason_code(reason: str | None) -> int:
    return YOOKASSA_REASON_CODES.get(reason or "", YOOKASSA_REASON_CODES["general_decline"])
