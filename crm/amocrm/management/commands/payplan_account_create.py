"""Create or update a tenant account for an amoCRM account: its id and subdomain, CloudPayments keys."""
from django.core.management.base import BaseCommand, CommandError

from billing.errors import ApplicationError
from billing.services import account_create
from crm.amocrm.adapter import KIND

ON_OFF = {"on": True, "off": False}


class Command(BaseCommand):
    help = ("Create (or update) a PayPlan account for an amoCRM account. On an existing account only the "
            "options given change: leaving out --cp-public-id or --cp-secret keeps the stored keys.")

    def add_arguments(self, parser):
        parser.add_argument("--subdomain", required=True, help="amoCRM subdomain, e.g. 'school'")
        parser.add_argument("--account-id", type=int, required=True, help="amoCRM account id")
        parser.add_argument("--host", default=None, help="account host; default <subdomain>.amocrm.ru")
        parser.add_argument("--name", default=None)
        parser.add_argument("--cp-public-id", default=None, help="CloudPayments Public ID")
        parser.add_argument("--cp-secret", default=None, help="CloudPayments API secret (stored encrypted)")
        parser.add_argument("--cp-test-mode", choices=sorted(ON_OFF), default=None,
                            help="'on' when the CloudPayments terminal is in test mode (TestMode payments count); "
                                 "new accounts are live ('off')")
        parser.add_argument("--time-zone", default=None, help="default Europe/Moscow for a new account")
        parser.add_argument("--currency", default=None, help="default RUB for a new account")

    def handle(self, *args, **options):
        test_mode = options["cp_test_mode"]
        try:
            account = account_create(
                crm_account_id=options["account_id"], slug=options["subdomain"], crm_kind=KIND,
                host=options["host"] or f"{options['subdomain'].strip().lower()}.amocrm.ru",
                name=options["name"], cloudpayments_public_id=options["cp_public_id"],
                cloudpayments_api_secret=options["cp_secret"],
                cloudpayments_test_mode=None if test_mode is None else ON_OFF[test_mode],
                time_zone=options["time_zone"], currency=options["currency"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        connected = "connected" if account.cloudpayments_connected else "NOT connected (no Public ID or API secret)"
        self.stdout.write(f"account {account.slug} (amoCRM {account.crm_account_id}) ready; "
                          f"webhook key {account.webhook_key}; CloudPayments {connected}")
