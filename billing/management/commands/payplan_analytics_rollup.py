"""The analytics rollup [I]: fold the changed deals now, check an account's figures against a recount, or
rebuild them (billing.services.analytics_rollup)."""
from django.core.management.base import BaseCommand, CommandError

from billing.models import Account
from billing.services.analytics_rollup import analytics_rollup_check, analytics_rollup_fold, analytics_rollup_rebuild


class Command(BaseCommand):
    help = ("Fold the deals changed since the last fold (the default); --check compares an account's kept "
            "figures with a recount of every deal; --rebuild throws them away and counts again.")

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="compare with a full recount (read only)")
        parser.add_argument("--rebuild", action="store_true", help="count again from scratch")
        parser.add_argument("--account", type=int, help="an account id (--check needs one; --rebuild: all if "
                                                         "omitted)")

    def handle(self, *args, **options):
        account_id = options["account"]
        if account_id is not None and not Account.objects.filter(pk=account_id).exists():
            raise CommandError(f"No account {account_id}.")
        if options["check"]:
            if account_id is None:
                raise CommandError("--check needs --account ID.")
            differences = analytics_rollup_check(account_id=account_id)
            for row in differences:
                self.stdout.write("\t".join(f"{key}={value}" for key, value in row.items()))
            if differences:
                raise CommandError(f"{len(differences)} slices differ from the recount: run --rebuild.")
            self.stdout.write("the kept figures equal a recount of every deal")
            return
        report = (analytics_rollup_rebuild(account_id=account_id) if options["rebuild"]
                  else analytics_rollup_fold())
        if report.busy:
            self.stdout.write("another fold is running; it folds what is left")
        self.stdout.write(f"{report.deals} deals folded in {report.batches} transactions")
