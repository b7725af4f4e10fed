"""Moved to billing.gateway.cloudpayments_notifications (the CloudPayments adapter); kept for KINDS importers."""
from billing.gateway.cloudpayments_notifications import KINDS

__all__ = ["KINDS"]
