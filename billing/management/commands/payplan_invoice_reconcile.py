"""Settle invoices stuck in 'creating' past CloudPayments' one-hour request-id memory."""
from django.core.management.base import BaseCommand, CommandError

from billing.models import Invoice
from billing.services.invoicing import invoice_reconcile

ADVICE = {
    "paid": "a payment was found and recorded",
    "recreated": "a new order was created under a new request id",
    "not_found": "no payment found; if no link reached the client, run again with --recreate",
    "not_stuck": "not in 'creating': nothing to do",
}


class Command(BaseCommand):
    help = "Reconcile 'creating' invoices by InvoiceId (payments/find); --recreate makes a new order."

    def add_arguments(self, parser):
        parser.add_argument("invoice_ids", nargs="*", type=int)
        parser.add_argument("--recreate", action="store_true")

    def handle(self, *args, **options):
        ids = options["invoice_ids"] or list(
            Invoice.objects.filter(status=Invoice.Status.CREATING).values_list("pk", flat=True))
        for invoice_id in ids:
            if not Invoice.objects.filter(pk=invoice_id).exists():
                raise CommandError(f"No invoice {invoice_id}.")
            result = invoice_reconcile(invoice_id=invoice_id, recreate=options["recreate"])
            self.stdout.write(f"invoice {result.invoice.number}: {result.outcome}: {ADVICE[result.outcome]}")
