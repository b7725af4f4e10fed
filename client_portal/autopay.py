"""The autopay switch on the client page: the deal's saved card, whether autopay is on, and the consent text
the client agrees to when switching it on ([E] point 2, [F] point 1).

The card is shown only when the active plan offers autopay (as `billing.selectors.autopay.autopay_state_get`
counts `offered`). The consent text is built on the server both when the page is shown and when the switch is
posted: what is recorded is exactly what was shown (the form carries the text's digest; a plan that changed in
between is refused, and the client reads the new text).
"""
import hashlib
from dataclasses import dataclass

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from billing.models import Deal, Direction, Installment, Schedule
from billing.models import SavedCard as SavedCardRow
from billing.services.autopay import card_expired
from billing.time import account_today
from client_portal.templatetags.portal import day, rub  # «05.12.2026», «10 000,00 ₽»

# A card the client may switch on from the page: saved with a payment, or switched off before.
SWITCHABLE = (SavedCardRow.Status.OFFERED, SavedCardRow.Status.DISABLED, SavedCardRow.Status.REPLACED)
ACCOUNT_TEXT_KEY = "autopay_consent_text"  # account settings: a text, or {"ru": ..., "en": ...}


@dataclass(frozen=True)
class SavedCard:
    masked: str  # «•••• 4242»
    autopay_on: bool
    exp: str = ""  # «09/28»
    consent_text: str = ""  # what the client agrees to (only while autopay is off)
    consent_digest: str = ""
    toggle_url: str = ""  # kept for the page's first layout; the switch posts to /p/<token>/autopay/{on,off}


def autopay_card_get(*, deal: Deal) -> SavedCard | None:
    """The deal's saved card and whether autopay is on; None when the plan offers no autopay or no card is
    usable (none saved, expired, refused by the bank): then the page shows no switch at all."""
    schedule = _autopay_schedule(deal)
    if schedule is None:
        return None
    card = autopay_saved_card(deal=deal)
    if card is None:
        return None
    on = card.status == SavedCardRow.Status.ACTIVE
    text = "" if on else autopay_consent_text(deal=deal, card=card, schedule=schedule)
    return SavedCard(masked=_masked(card), autopay_on=on, exp=card.card_exp, consent_text=text,
                     consent_digest=consent_digest(text) if text else "")


def autopay_saved_card(*, deal: Deal) -> SavedCardRow | None:
    """The switched-on card, else the most recent card the client could switch on (not expired, this terminal)."""
    cards = SavedCardRow.objects.filter(deal=deal, account=deal.account)
    active = cards.filter(status=SavedCardRow.Status.ACTIVE).first()
    if active is not None:
        return active
    today = account_today(deal.account)
    for card in cards.filter(status__in=SWITCHABLE).order_by("-id"):
        if card.public_id == deal.account.cloudpayments_public_id and not card_expired(card, today):
            return card
    return None


def autopay_consent_text(*, deal: Deal, card: SavedCardRow, schedule: Schedule | None = None) -> str:
    """The account's own consent text if its settings have one, else ours: the card, the remaining payments
    (amounts and dates) and how to switch autopay off. In the active language."""
    schedule = schedule or _autopay_schedule(deal)
    own = deal.account.settings.get(ACCOUNT_TEXT_KEY)
    if isinstance(own, dict):
        own = own.get((get_language() or "ru")[:2]) or own.get("ru")
    if isinstance(own, str) and own.strip():
        return own.strip()
    company = ((deal.account.settings.get("requisites") or {}).get("company_name") or deal.account.name or "").strip()
    lines = (Installment.objects.filter(schedule=schedule).order_by("due_date", "seq")
             if schedule is not None else Installment.objects.none())
    payments = "; ".join(f"{day(line.due_date)} — {rub(line.amount - line.paid, deal.account.currency)}"
                         for line in lines if line.paid < line.amount)
    return _(
        "I agree that %(company)s charges the payments of my plan to my card %(card)s on their due dates: "
        "%(payments)s. I can switch autopay off at any time on this page with the «Switch autopay off» button; "
        "the next payments then come as ordinary payment links."
    ) % {"company": company or _("the seller"), "card": _masked(card), "payments": payments or "—"}


def consent_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _autopay_schedule(deal: Deal) -> Schedule | None:
    if deal.cancelled_at is not None:
        return None
    schedule = Schedule.objects.filter(deal=deal, is_active=True).first()
    if schedule is None or not schedule.autopay or schedule.direction == Direction.OUTGOING:
        return None
    return schedule


def _masked(card: SavedCardRow) -> str:
    return f"\u2022\u2022\u2022\u2022 {card.card_last_four or '????'}"
