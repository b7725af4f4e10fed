"""Run the dunning tick now, or as if it were --date --time in every account's own calendar (demo, operators)."""
from datetime import date, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.dunning.services import aware, dunning_account_plan
from billing.dunning.tasks import step_run_send
from billing.models import Account


class Command(BaseCommand):
    help = "Record overdue lines and send due reminder steps (optionally as if it were --date at --time local)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD: run as if today were this day in every account's zone")
        parser.add_argument("--time", default="18:30", help="HH:MM local time on --date (default 18:30)")

    def handle(self, *args, **options):
        try:
            on_date = date.fromisoformat(options["date"]) if options["date"] else None
            at = time.fromisoformat(options["time"])
        except ValueError as exc:
            raise CommandError("--date must be YYYY-MM-DD and --time HH:MM") from exc
        for account in Account.objects.filter(is_active=True).order_by("pk"):
            now = aware(account, datetime.combine(on_date, at)) if on_date else timezone.now()
            report = dunning_account_plan(account=account, now=now)
            outcomes = [step_run_send(step_run_id=step_run_id, now=now) for step_run_id in report.due_step_ids]
            self.stdout.write(f"{account.subdomain}: lines {report.lines}, overdue recorded {report.overdue}, "
                              f"planned {report.planned}, skipped {report.skipped}, "
                              f"sent {outcomes.count('sent')}, failed {outcomes.count('failed')}, "
                              f"retrying {outcomes.count('retrying')}")
