"""Look now for payout tasks the accountant completed in amoCRM (the beat does it every few minutes)."""
from django.core.management.base import BaseCommand

from crm.amocrm.payout_tasks import payout_tasks_poll_all


class Command(BaseCommand):
    help = "Record the payouts whose accountant task was completed in amoCRM."

    def handle(self, *args, **options):
        for account_id, report in payout_tasks_poll_all().items():
            if report.checked or report.error:
                self.stdout.write(f"account {account_id}: {report.checked} tasks checked, {report.recorded} payouts "
                                  f"recorded{' (' + report.error + ')' if report.error else ''}")
