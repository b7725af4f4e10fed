"""CloudPayments decline codes (`ReasonCode`, contract §3.3): what the bank's refusal means to a client, in
plain words, and whether a saved card may be charged again."""
from dataclasses import dataclass
from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class DeclineKind(StrEnum):
    SOFT = "soft"  # may pass later (no money today, issuer unavailable): retried on the schedule
    HARD = "hard"  # never charge this token again: the client must pay by link and save a card anew


@dataclass(frozen=True)
class DeclineReason:
    code: int
    kind: DeclineKind
    text: Promise  # for the client, lazily translated (Russian in the catalogue)


EXPIRED_CARD = 5054
THREE_DS_FAILED = 5206

# Contract §3.3: after these the documentation says to stop charging the token; lost, stolen, restricted,
# invalid and expired cards are added (no retry of a card that no longer exists can succeed).
_HARD = {5001, 5003, 5004, 5005, 5007, 5012, 5014, 5015, 5017, 5033, 5034, 5036, 5041, 5043, 5054, 5057, 5058,
         5059, 5062, 5206, 5207}

_TEXTS = {
    5001: _("The bank that issued the card declined the payment. Please contact your bank."),
    5003: _("The bank declined the payment to this seller."),
    5004: _("The card is blocked by the bank."),
    5005: _("The bank that issued the card declined the payment without giving a reason."),
    5006: _("The payment network declined the payment. Please check the card details and try again."),
    5007: _("The card is blocked by the bank."),
    5012: _("The card cannot be used for online payments."),
    5013: _("The bank refused the amount of the payment."),
    5014: _("The card number is not valid."),
    5015: _("The card's bank was not found."),
    5017: _("The payment was cancelled by the cardholder."),
    5019: _("The bank could not process the payment."),
    5030: _("The bank could not process the payment."),
    5031: _("The card's bank is not known to the payment system."),
    5033: _("The card has expired."),
    5034: _("The bank suspected fraud and declined the payment. Please contact your bank."),
    5036: _("The card is restricted by the bank."),
    5041: _("The card is reported lost."),
    5043: _("The card is reported stolen."),
    5051: _("There is not enough money on the card."),
    5054: _("The card has expired."),
    5055: _("The PIN was entered incorrectly."),
    5057: _("The bank does not allow this kind of payment with the card."),
    5058: _("The bank does not allow this kind of payment with the card."),
    5059: _("The bank suspected fraud and declined the payment. Please contact your bank."),
    5061: _("The card's spending limit is exceeded."),
    5062: _("The card is restricted by the bank."),
    5063: _("The bank declined the payment for security reasons."),
    5065: _("The card's limit on the number of payments is exceeded."),
    5082: _("The security code (CVV) is wrong."),
    5091: _("The card's bank is temporarily unavailable."),
    5092: _("The card's bank is temporarily unavailable."),
    5096: _("The payment system had an error. Please try again later."),
    5113: _("Cards of foreign banks are not accepted."),
    5204: _("The payment could not be processed."),
    5206: _("The bank's confirmation (3-D Secure) did not pass."),
    5207: _("The bank's confirmation (3-D Secure) is unavailable."),
    5300: _("The acquiring bank's limits are exceeded."),
    5303: _("The seller's limits are exceeded."),
}
_UNKNOWN = _("The bank declined the payment.")
NEEDS_CLIENT = _("The bank asks the cardholder to confirm the payment (3-D Secure).")


def decline_reason(code: int | None) -> DeclineReason:
    """The reason for a ReasonCode; an unknown code is a soft decline with a generic text."""
    code = int(code or 0)
    return DeclineReason(code=code, kind=DeclineKind.HARD if code in _HARD else DeclineKind.SOFT,
                         text=_TEXTS.get(code, _UNKNOWN))


def decline_text(code: int | None) -> str:
    return str(decline_reason(code).text)
