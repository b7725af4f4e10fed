"""Writes of the money core: keyword-only `<entity>_<verb>` functions, one transaction each."""
from billing.services.accounts import account_create
from billing.services.deals import deal_get_or_create
from billing.services.payments import PaymentInput, payment_record, payment_record_full
from billing.services.schedules import ScheduleOptions, plan_preview, schedule_replace

__all__ = [
    "PaymentInput",
    "ScheduleOptions",
    "account_create",
    "deal_get_or_create",
    "payment_record",
    "payment_record_full",
    "plan_preview",
    "schedule_replace",
]
