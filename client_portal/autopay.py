"""The autopay switch's place on the client page. [E] (autopay, card on file) fills this in.

AUTOPAY-SWITCH: `autopay_card_get` is the one call the page makes; until the autopay work lands it answers
None (no saved card), and the page renders no switch at all: the safe default is "nothing to switch".
"""
from dataclasses import dataclass

from billing.models import Deal


@dataclass(frozen=True)
class SavedCard:
    masked: str  # «•••• 4242»
    autopay_on: bool
    toggle_url: str = ""  # where the switch posts; empty: shown, not switchable from the page


def autopay_card_get(*, deal: Deal) -> SavedCard | None:
    """The deal's saved card and whether autopay is on, or None when there is none (the default)."""
    return None
