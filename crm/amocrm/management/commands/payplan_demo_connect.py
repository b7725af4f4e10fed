"""Connect the demo account to the loopback amoCRM sandbox without the consent screen (demo mode only)."""
import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from billing.demo import DEMO_ACCOUNT_ID
from crm.amocrm import oauth
from crm.amocrm.errors import InstallError
from crm.amocrm.install import crm_install


class Command(BaseCommand):
    help = ("Install PayPlan into the sandbox's demo account as its consent screen would (PAYPLAN_DEMO=1 only), "
            "so `payplan_billing_run --date` shows its tasks and notes in the sandbox journal from a script.")

    def add_arguments(self, parser):
        parser.add_argument("--sandbox", default="http://127.0.0.1:8102", help="the amoCRM sandbox (loopback)")

    def handle(self, *args, **options):
        if not oauth.loopback_allowed():
            raise CommandError("Only in demo mode (PAYPLAN_DEMO=1): a real amoCRM is connected by its consent screen.")
        sandbox = options["sandbox"].rstrip("/")
        try:
            answer = requests.post(f"{sandbox}/_sandbox/codes", json={"account_id": DEMO_ACCOUNT_ID}, timeout=5)
            answer.raise_for_status()
            issued = answer.json()
            account = crm_install(code=issued["code"], referer=issued["referer"], state=oauth.state_make(),
                                  from_widget=False)
        except (requests.RequestException, KeyError, ValueError) as exc:
            raise CommandError(f"The amoCRM sandbox at {sandbox} did not issue a code: {exc}") from exc
        except InstallError as exc:
            raise CommandError(f"Install refused: {exc}") from exc
        self.stdout.write(f"demo account {account.slug} ({account.crm_account_id}) connected to {sandbox} "
                          f"(redirect {settings.PAYPLAN_PUBLIC_ORIGIN})")
