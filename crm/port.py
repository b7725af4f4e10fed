"""The CRM port: what billing's events ask of any CRM, and the adapters that answer it.

Billing never names a CRM. Its events become rows of the CRM-neutral outbox (crm.models.CrmAction),
one of these kinds each:

- update_fields      the deal's figures (total, paid, debt, next date...) into the CRM's deal fields;
- add_note           a note on the deal's timeline (payments, plans, failures);
- summary_note       the one running summary note of a deal, created once, then edited in place;
- create_task        a task for a manager / accountant (overdue payment, payout due);
- move_to_completed  the deal to its won / completed stage;
- update_lead        stage and/or responsible user (collections: aging, hand to the lawyer);
- update_contact     the client's corrected name / phone / email on the deal's main contact;
- fetch_lead         read the deal's data (title, contact, service) back from the CRM.

An adapter (crm.amocrm, crm.bitrix24) delivers its accounts' claimed rows and answers the questions
the drain and the payout poll ask. The outbox picks the adapter by the account's CRM kind.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from django.utils.translation import gettext

from billing.domain.account_settings import template_field_refs
from billing.errors import ApplicationError

if TYPE_CHECKING:
    from crm.models import CrmAction
    from crm.outbox import Outcome

logger = logging.getLogger(__name__)


class CrmUnavailable(Exception):
    """The account has no adapter or no working connection: its actions wait, nothing is lost."""


@runtime_checkable
class CrmSession(Protocol):
    """One round's way to one account's CRM (a client with its token and rate-limit budget)."""

    def deliver(self, actions: Sequence[CrmAction]) -> tuple[list[Outcome], str]:
        """Send a round; every action gets an Outcome. Returns the reason to stop draining, or ''."""


@runtime_checkable
class CrmAdapter(Protocol):
    kind: str  # the Account.crm_kind / Deal.crm_kind value it serves
    # The adapter makes PayPlan's own deal fields when the CRM is installed (Bitrix24 user fields): the
    # figures always go out. False: only the fields the account's admin mapped (amoCRM).
    own_fields: bool
    # Kinds that create something in the CRM: after an uncertain attempt they are looked up, not re-sent.
    create_kinds: frozenset[str]

    def not_ready(self, account_id: int) -> str:
        """Why the account's actions must wait now ('' when they may go out): not connected, paused."""

    def session(self, account_id: int, *, max_wait: float) -> CrmSession:
        """A session for one round; raises CrmUnavailable when the account cannot be reached."""

    def ready_account_ids(self, account_ids: Sequence[int]) -> list[int]:
        """The ones among `account_ids` (of this kind) whose actions may go out."""

    def completed_tasks_poll(self) -> int:
        """Record what the CRM's users completed (payout tasks); how many were recorded."""

    def options(self, account) -> dict:
        """What the settings page picks from (pipelines with stages, users, deal fields), read live;
        ApplicationError when the CRM cannot tell now."""

    def user_names(self, account) -> dict[int, str]:
        """The CRM's users by id (for analytics); {} when the CRM cannot tell now."""

    def connection(self, account) -> dict:
        """`{"status": "connected" | "needs_reinstall" | "disconnected" | "not_installed", "reason": ...}`."""


_adapters: dict[str, CrmAdapter] = {}


def adapter_register(adapter: CrmAdapter) -> None:
    known = _adapters.get(adapter.kind)
    if known is not None and type(known) is not type(adapter):
        raise ValueError(f"two CRM adapters for {adapter.kind!r}")
    _adapters[adapter.kind] = adapter


def adapter_for(kind: str) -> CrmAdapter:
    try:
        return _adapters[kind]
    except KeyError:
        raise CrmUnavailable(f"no CRM adapter for {kind!r}") from None


def crm_options_get(*, account) -> dict:
    """The settings page's lists from the account's own CRM (amoCRM or Bitrix24)."""
    return adapter_for(account.crm_kind).options(account)


def crm_user_names(*, account) -> dict[int, str]:
    try:
        return adapter_for(account.crm_kind).user_names(account)
    except CrmUnavailable:
        return {}


def crm_connection_get(*, account) -> dict:
    try:
        return adapter_for(account.crm_kind).connection(account)
    except CrmUnavailable:
        return {"status": "not_installed", "reason": gettext("No CRM adapter for this account.")}


def fields_always_sent(kind: str) -> bool:
    """The deal figures go to this CRM kind's deals whatever the account mapped (see CrmAdapter.own_fields)."""
    adapter = _adapters.get(kind)
    return bool(getattr(adapter, "own_fields", False))


def stage_ids_of(kind: str) -> str:
    """How this CRM kind names a deal stage (billing.dunning.domain.STAGE_IDS): "number" (amoCRM's status
    ids) or "code" (Bitrix24's STATUS_ID, `C1:WON`); an adapter says so by its `stage_ids`."""
    return getattr(_adapters.get(kind), "stage_ids", "number")


def adapters() -> list[CrmAdapter]:
    return [_adapters[kind] for kind in sorted(_adapters)]


def template_deal_field_ids(*, account, body: object) -> frozenset[int] | None:
    """[J] The ids of the account's CRM deal fields when a plan template in `body` reads deal fields (its
    settings then name a missing one); None when it reads none, or the CRM cannot tell now (not checked)."""
    autostart = body.get("plan_autostart") if isinstance(body, dict) else None
    if not isinstance(autostart, dict) or not template_field_refs(autostart.get("template")):
        return None
    try:
        options = crm_options_get(account=account)
    except (ApplicationError, CrmUnavailable) as exc:
        logger.warning("the CRM cannot list deal fields for a plan template: %s", exc)
        return None
    return frozenset(row["id"] for row in options.get("lead_fields") or [] if isinstance(row.get("id"), int))
