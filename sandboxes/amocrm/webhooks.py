"""Account webhooks: the form-urlencoded `leads[add]`/`leads[status]`/`leads[update]` bodies and their async
delivery. A lead made anew is reported in `add` only (amoCRM sends no status or update hook for its creation)."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from urllib.parse import urlencode

from .models import Account, Lead
from .outbound import Delivery, send

FORM = "application/x-www-form-urlencoded"
# Which event section a subscription setting receives.
SECTION_BY_SETTING = {"add_lead": "add", "status_lead": "status", "update_lead": "update"}


@dataclass(frozen=True)
class LeadChange:
    """A lead written through the API or the control endpoint, with what it was before."""

    lead_id: int
    old_status_id: int
    old_pipeline_id: int
    modified_user_id: int
    added: bool = False  # the lead was made by this write

    def in_section(self, section: str, lead: Lead) -> bool:
        if section == "add" or self.added:
            return section == "add" and self.added
        return section == "update" or self.status_changed(lead)

    def status_changed(self, lead: Lead) -> bool:
        return (lead.status_id, lead.pipeline_id) != (self.old_status_id, self.old_pipeline_id)


def lead_event_pairs(section: str, index: int, lead: Lead, change: LeadChange, account: Account,
                     ) -> list[tuple[str, str]]:
    prefix = f"leads[{section}][{index}]"
    fields = {"id": lead.id, "name": lead.name, "status_id": lead.status_id, "pipeline_id": lead.pipeline_id,
              "price": lead.price, "responsible_user_id": lead.responsible_user_id,
              "modified_user_id": change.modified_user_id, "last_modified": lead.updated_at,
              "created_user_id": lead.created_by, "date_create": lead.created_at, "account_id": account.id}
    if section == "status":
        fields |= {"old_status_id": change.old_status_id, "old_pipeline_id": change.old_pipeline_id}
    pairs = [(f"{prefix}[{key}]", str(value)) for key, value in fields.items()]
    for field_index, (field_id, values) in enumerate(lead.custom_fields.items()):
        field_prefix = f"{prefix}[custom_fields][{field_index}]"
        name = account.lead_fields[field_id].name if field_id in account.lead_fields else ""
        pairs += [(f"{field_prefix}[id]", str(field_id)), (f"{field_prefix}[name]", name)]
        for value_index, value in enumerate(values):
            pairs.append((f"{field_prefix}[values][{value_index}][value]", str(value.get("value", ""))))
            if "enum_id" in value:
                pairs.append((f"{field_prefix}[values][{value_index}][enum]", str(value["enum_id"])))
    return pairs


def account_pairs(account: Account, host: str) -> list[tuple[str, str]]:
    return [("account[id]", str(account.id)), ("account[subdomain]", account.subdomain),
            ("account[_links][self]", f"http://{host}")]


def webhook_bodies(account: Account, changes: list[LeadChange], host: str) -> dict[str, str]:
    """destination -> one form body holding every section the subscription asked for."""
    bodies = {}
    for hook in sorted(account.webhooks.values(), key=lambda hook: hook.sort):
        pairs: list[tuple[str, str]] = []
        for setting, section in SECTION_BY_SETTING.items():
            if setting not in hook.settings:
                continue
            leads = [(account.leads[change.lead_id], change) for change in changes
                     if change.in_section(section, account.leads[change.lead_id])]
            for index, (lead, change) in enumerate(leads):
                pairs += lead_event_pairs(section, index, lead, change, account)
        if pairs:
            bodies[hook.destination] = urlencode(pairs + account_pairs(account, host))
    return bodies


class WebhookEmitter:
    """Posts webhook bodies from one background thread, like amoCRM: after the write has answered."""

    def __init__(self, timeout: float = 3.0):
        self.timeout = timeout
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-webhooks")
        self._pending: list[Future] = []
        self.deliveries: list[Delivery] = []

    def emit(self, bodies: dict[str, str]) -> None:
        with self._lock:
            for destination, body in bodies.items():
                self._pending.append(self._pool.submit(self._deliver, destination, body))

    def _deliver(self, destination: str, body: str) -> None:
        delivery = send("POST", destination, body=body, content_type=FORM, timeout=self.timeout)
        with self._lock:
            self.deliveries.append(delivery)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued webhook was attempted; False if some are still running."""
        with self._lock:
            pending, self._pending = self._pending, []
        _, not_done = wait(pending, timeout=timeout)
        with self._lock:
            self._pending.extend(not_done)
        return not not_done

    def clear(self) -> None:
        with self._lock:
            self.deliveries.clear()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
