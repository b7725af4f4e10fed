"""Load the Bitrix24 demo: the lawyers' account, its portal row (linked) and deals (idempotent)."""
from django.core.management.base import BaseCommand

from crm.bitrix24.demo import bitrix24_demo_load


class Command(BaseCommand):
    help = "Create the Bitrix24 demo account, its loopback portal row and deals; existing deals are kept."

    def handle(self, *args, **options):
        account, portal, created = bitrix24_demo_load()
        self.stdout.write(f"Bitrix24 demo portal {portal.domain} ({portal.member_id}) → account {account.name}: "
                          f"{created} deal(s) created, {account.deals.count()} in all")
