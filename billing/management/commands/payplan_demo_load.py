"""Load the demo account with deals in every state (idempotent)."""
from django.core.management.base import BaseCommand

from billing.demo import demo_account_load


class Command(BaseCommand):
    help = "Create the demo account and its deals; existing deals are kept."

    def handle(self, *args, **options):
        account, created = demo_account_load()
        self.stdout.write(f"demo account {account.slug} ({account.crm_account_id}): "
                          f"{created} deal(s) created, {account.deals.count()} in all")
