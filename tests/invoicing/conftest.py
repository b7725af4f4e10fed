"""A recording in-memory gateway, for invoicing rules that do not need HTTP (the sandbox tests do)."""
import itertools
from datetime import date

import pytest

from billing.domain.schedule import PlanRequest
from billing.gateway.errors import GatewayRejected, GatewayUnavailable
from billing.gateway.interface import OrderCreated
from billing.services import ScheduleOptions, deal_get_or_create, schedule_replace


class FakeGateway:
    """Orders keyed by X-Request-ID, like CloudPayments within its one-hour memory."""

    def __init__(self) -> None:
        self.orders: dict[str, OrderCreated] = {}
        self.calls: list[tuple[str, object]] = []
        self.cancelled: list[str] = []
        self.fail_next: list[Exception] = []
        self._ids = itertools.count(1)

    def create_order(self, order, *, request_id):
        self.calls.append((request_id, order))
        if self.fail_next:
            raise self.fail_next.pop(0)
        if request_id not in self.orders:
            order_id = f"ord{next(self._ids)}"
            self.orders[request_id] = OrderCreated(order_id, f"https://pay.test/d/{order_id}", 1, "Created", {})
        return self.orders[request_id]

    def cancel_order(self, order_id, *, request_id):
        self.cancelled.append(order_id)

    def find_payment(self, invoice_id):
        return None


@pytest.fixture
def gateway(monkeypatch):
    fake = FakeGateway()
    monkeypatch.setattr("billing.services.invoicing.gateway_for", lambda account: fake)
    return fake


def make_plan(account, lead_id=6001, first=date(2026, 12, 5), count=3, total=30000, direction="incoming"):
    deal = deal_get_or_create(account=account, external_id=lead_id)
    schedule_replace(deal=deal, plan_request=PlanRequest(plan="equal", total=total, installments_count=count,
                                                         first_due_date=first, due_day=5),
                     options=ScheduleOptions(direction=direction), request_data={}, created_by=1,
                     today=date(2026, 11, 24))
    return deal


__all__ = ["GatewayRejected", "GatewayUnavailable", "make_plan"]
