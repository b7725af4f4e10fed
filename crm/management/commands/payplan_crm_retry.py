"""Send dead-lettered CRM actions again (after fixing what amoCRM refused, or after an outage)."""
from django.core.management.base import BaseCommand, CommandError

from billing.models import Account
from crm.models import CrmAction
from crm.outbox import crm_actions_requeue


class Command(BaseCommand):
    help = "Re-queue dead CRM actions (all, one account's, or given ids); --waiting also skips backoff waits."

    def add_arguments(self, parser):
        parser.add_argument("--account", help="subdomain or amoCRM account id")
        parser.add_argument("--id", type=int, action="append", dest="ids", help="an action id (repeatable)")
        parser.add_argument("--waiting", action="store_true",
                            help="also send actions waiting for their next retry right away")
        parser.add_argument("--list", action="store_true", help="only list the dead actions")

    def handle(self, *args, **options):
        account = None
        if options["account"]:
            ref = options["account"]
            lookup = {"crm_account_id": int(ref)} if ref.isdigit() else {"slug": ref.lower()}
            account = Account.objects.filter(**lookup).first()
            if account is None:
                raise CommandError(f"No account {ref!r}.")
        if options["list"]:
            dead = CrmAction.objects.filter(state=CrmAction.State.DEAD).order_by("id")
            for action in dead.filter(account=account) if account else dead:
                self.stdout.write(f"{action.pk}\t{action.account_id}\tlead {action.external_id}\t{action.kind}\t"
                                  f"{action.attempts}\t{action.last_error}")
            return
        count = crm_actions_requeue(account=account, action_ids=options["ids"], include_waiting=options["waiting"])
        self.stdout.write(f"{count} CRM action(s) queued again.")
