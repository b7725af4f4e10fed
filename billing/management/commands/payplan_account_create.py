"""Create or update a tenant account: amoCRM account id and subdomain, CloudPayments keys."""
from django.core.management.base import BaseCommand, CommandError

from billing.errors import ApplicationError
from billing.services import account_create


class Command(BaseCommand):
    help = "Create (or update) a PayPlan account for an amoCRM account."

    def add_arguments(self, parser):
        parser.add_argument("--subdomain", required=True, help="amoCRM subdomain, e.g. 'school'")
        parser.add_argument("--account-id", type=int, required=True, help="amoCRM account id")
        parser.add_argument("--host", default="", help="account host; default <subdomain>.amocrm.ru")
        parser.add_argument("--name", default="")
        parser.add_argument("--cp-public-id", default="", help="CloudPayments Public ID")
        parser.add_argument("--cp-secret", default="", help="CloudPayments API secret (stored encrypted)")
        parser.add_argument("--time-zone", default="Europe/Moscow")
        parser.add_argument("--currency", default="RUB")

    def handle(self, *args, **options):
        try:
            account = account_create(
                amocrm_account_id=options["account_id"], subdomain=options["subdomain"], host=options["host"],
                name=options["name"], cloudpayments_public_id=options["cp_public_id"],
                cloudpayments_api_secret=options["cp_secret"], time_zone=options["time_zone"],
                currency=options["currency"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"account {account.subdomain} (amoCRM {account.amocrm_account_id}) ready; "
                          f"webhook key {account.webhook_key}")
