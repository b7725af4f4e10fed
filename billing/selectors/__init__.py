"""Reads of the money core: plain data for views and tasks."""
from billing.selectors.deals import (
    DealState,
    ScheduleState,
    deal_figures_get,
    deal_find,
    deal_state_get,
    schedule_state_from_plan,
)

__all__ = ["DealState", "ScheduleState", "deal_figures_get", "deal_find", "deal_state_get",
           "schedule_state_from_plan"]
