"""Run the dunning tick now, or as if it were --date --time in every account's own calendar (demo, operators)."""
from datetime import date, time

from django.core.management.base import BaseCommand, CommandError

from billing.dunning.tasks import dunning_run_now


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
        for line in dunning_run_now(on_date=on_date, at=at):
            self.stdout.write(line)
