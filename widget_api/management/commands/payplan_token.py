"""Mint a disposable widget token, as amoCRM would, for curl and the demo."""
from django.core.management.base import BaseCommand, CommandError

from billing.models import Account
from widget_api.tokens import token_mint


class Command(BaseCommand):
    help = "Print an X-Auth-Token for an account (subdomain or amoCRM id) and user."

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="subdomain or amoCRM account id")
        parser.add_argument("--user", type=int, required=True, help="amoCRM user id")
        parser.add_argument("--ttl", type=int, default=1800,
                            help="seconds the token lives (amoCRM: 1800; longer ones work only in demo mode)")
        parser.add_argument("--admin", action="store_true")

    def handle(self, *args, **options):
        ref = options["account"]
        lookup = {"crm_kind": "amocrm", "crm_account_id": int(ref)} if ref.isdigit() else {"slug": ref.lower()}
        account = Account.objects.filter(**lookup).first()
        if account is None:
            raise CommandError(f"No account {ref!r}; create one with payplan_account_create.")
        self.stdout.write(token_mint(account_id=account.crm_account_id, subdomain=account.slug,
                                     user_id=options["user"], ttl_seconds=options["ttl"],
                                     is_admin=options["admin"]))
