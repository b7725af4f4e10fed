"""Run the billing tick now, optionally as if it were another day (for operators and the demo)."""
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from billing.services.billing_run import billing_run


class Command(BaseCommand):
    help = "Issue every invoice that is due (on --date, in every account's calendar)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD: run as if today were this day")
        parser.add_argument("--no-dunning", action="store_true",
                            help="only invoices; by default the reminder ladder runs too (18:30 local on --date)")

    def handle(self, *args, **options):
        try:
            today = date.fromisoformat(options["date"]) if options["date"] else None
        except ValueError as exc:
            raise CommandError("--date must be YYYY-MM-DD") from exc
        report = billing_run(today=today)
        self.stdout.write(f"issued {len(report.issued)}: {', '.join(report.issued) or '-'}")
        if report.charged or report.declined or report.fallback:
            self.stdout.write(f"autopay: charged {report.charged}, declined (retried later) {report.declined}, "
                              f"fell back to the invoice link {report.fallback}")
        if report.payouts or report.payouts_overdue:
            self.stdout.write(f"payout tasks sent: {len(report.payouts)}, overdue payouts alerted: "
                              f"{len(report.payouts_overdue)}")
        if report.pending:
            self.stdout.write(f"left creating (gateway did not answer; the tick retries): {report.pending}")
        for line in report.refused:
            self.stdout.write(f"refused: {line}")
        for number in report.stuck:
            self.stderr.write(f"stuck in creating past the request-id memory: {number} (payplan_invoice_reconcile)")
        if not options["no_dunning"]:
            from billing.dunning.tasks import dunning_run_now

            for line in dunning_run_now(on_date=today):
                self.stdout.write(f"reminders {line}")
