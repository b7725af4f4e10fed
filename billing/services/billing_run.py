"""The billing tick: what is due now? Idempotent, so a missed or doubled beat loses nothing."""
import logging
from dataclasses import dataclass, field
from datetime import date

from billing.events import effects_coalesced
from billing.gateway.interface import Gateway
from billing.models import Account
from billing.services.autopay import autopay_run
from billing.services.invoice_batches import invoices_issue_due, invoices_retry_creating_chunked
from billing.services.invoicing import invoices_stuck_creating
from billing.services.payouts import payouts_run
from billing.services.payouts_auto import payouts_auto_run
from billing.services.recurring import recurring_run
from billing.time import account_today

logger = logging.getLogger(__name__)


@dataclass
class BillingRunReport:
    issued: list[str] = field(default_factory=list)
    pending: int = 0  # rows left `creating` because the gateway did not answer
    stuck: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    charged: int = 0  # autopay: lines paid by the saved card
    declined: int = 0  # autopay: soft declines, retried on the schedule
    fallback: int = 0  # autopay: lines given up on, sent the invoice link
    payouts: list[int] = field(default_factory=list)  # payouts whose accountant task went out
    payouts_overdue: list[int] = field(default_factory=list)
    recurring_lines: int = 0  # lines appended to open-ended plans to keep their horizon


def billing_run(*, today: date | None = None, gateway: Gateway | None = None) -> BillingRunReport:
    """Issue every invoice that is due, account by account, each in its own time zone."""
    report = BillingRunReport()
    for account in Account.objects.filter(is_active=True).order_by("pk"):
        # The relay nudges and CRM drains of the account's many small commits: one of each when it is done.
        with effects_coalesced():
            account_run(account=account, today=today or account_today(account), gateway=gateway, report=report)
    return report


def account_run(*, account: Account, today: date, gateway: Gateway | None, report: BillingRunReport) -> None:
    # Recurring plans first: a line appended today may already be due for its invoice or payout task.
    report.recurring_lines += recurring_run(account=account, today=today)
    payouts = payouts_run(account=account, today=today)
    report.payouts += payouts.opened
    report.payouts_overdue += payouts.overdue
    # Approved automatic payouts go out through YooKassa; pending ones are asked for ([K]).
    report.refused += [f"{account.pk}/payout {line}" for line in
                       payouts_auto_run(account=account, today=today).refused]
    retried = invoices_retry_creating_chunked(account=account, gateway=gateway)
    report.issued += retried.issued
    report.pending += retried.pending
    # Cards first: a line autopay gives up on today gets its invoice link in the loop below.
    autopay = autopay_run(account=account, today=today, gateway=gateway)
    report.charged += autopay.charged
    report.declined += autopay.declined
    report.fallback += autopay.fallback
    report.pending += autopay.pending
    report.refused += autopay.refused or []
    # Chunks of the due lines: reserve (commit), gateway calls from a bounded pool, record (commit).
    invoices = invoices_issue_due(account=account, today=today, gateway=gateway)
    report.issued += invoices.issued
    report.pending += invoices.pending
    report.refused += invoices.refused
    for invoice in invoices_stuck_creating(account=account):
        logger.error("invoice %s of %s is stuck in 'creating' past the gateway's request-id memory; "
                     "reconcile with `payplan_invoice_reconcile %s`", invoice.number, account.slug, invoice.pk)
        report.stuck.append(invoice.number)
