"""Reads of autopay: what the deal card shows about the saved card and the charges of its lines."""
from dataclasses import dataclass
from datetime import date, datetime

from billing.models import ChargeAttempt, Deal, SavedCard, Schedule


@dataclass(frozen=True)
class SavedCardRow:
    last_four: str
    exp: str
    card_type: str
    status: str  # active | disabled | revoked | replaced
    consented_at: datetime | None
    consent_source: str
    disabled_at: datetime | None
    disabled_by: str
    status_reason: str


@dataclass(frozen=True)
class ChargeRow:
    installment_seq: int
    attempt: int
    charge_date: date
    amount: str
    status: str  # sending | succeeded | declined | fallback | skipped
    reason_code: int | None
    retry_on: date | None


@dataclass(frozen=True)
class AutopayState:
    offered: bool  # the active plan is an autopay plan
    enabled: bool  # a card with the client's consent is switched on
    card: SavedCardRow | None  # the switched-on card, else the last one (why autopay stopped)
    charges: list[ChargeRow]


def autopay_state_get(*, deal: Deal) -> AutopayState:
    schedule = Schedule.objects.filter(deal=deal, is_active=True).only("autopay").first()
    cards = SavedCard.objects.filter(deal=deal).exclude(status=SavedCard.Status.OFFERED)
    card = cards.filter(status=SavedCard.Status.ACTIVE).first() or cards.order_by("-id").first()
    attempts = (ChargeAttempt.objects.filter(deal=deal, installment__schedule__is_active=True)
                .select_related("installment").order_by("installment__seq", "attempt"))
    return AutopayState(
        offered=bool(schedule and schedule.autopay),
        enabled=card is not None and card.status == SavedCard.Status.ACTIVE,
        card=SavedCardRow(
            last_four=card.card_last_four, exp=card.card_exp, card_type=card.card_type, status=card.status,
            consented_at=card.consented_at, consent_source=card.consent_source, disabled_at=card.disabled_at,
            disabled_by=card.disabled_by, status_reason=card.status_reason) if card else None,
        charges=[ChargeRow(installment_seq=row.installment.seq, attempt=row.attempt, charge_date=row.charge_date,
                           amount=str(row.amount), status=row.status, reason_code=row.reason_code,
                           retry_on=row.retry_on) for row in attempts],
    )
