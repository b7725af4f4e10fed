"""Wait until the web server answers, then print where to click and a token to curl with."""
import signal
import time

import requests
from django.conf import settings
from django.core.management.base import BaseCommand

from billing.demo import DEMO_ACCOUNT_ID, DEMO_MANAGER_ID, DEMO_SLUG
from widget_api.tokens import token_mint


class Command(BaseCommand):
    help = "Print the demo URLs once the server is healthy; with --wait, then stay up (for honcho)."

    def add_arguments(self, parser):
        parser.add_argument("--wait", action="store_true", help="wait for /healthz, then block")
        parser.add_argument("--timeout", type=float, default=60.0)

    def handle(self, *args, **options):
        base = settings.PAYPLAN_PUBLIC_ORIGIN.rstrip("/")
        if options["wait"]:
            self._wait_healthy(f"{base}/healthz", options["timeout"])
        token = token_mint(account_id=DEMO_ACCOUNT_ID, subdomain=DEMO_SLUG, user_id=DEMO_MANAGER_ID,
                           ttl_seconds=12 * 3600)
        self.stdout.write("\n".join([
            "", "=" * 72, "PayPlan is running.",
            f"  Demo page (the widget):  {base}/demo/",
            "  Bitrix24 demo (deal tab): http://127.0.0.1:8104/crm/deal/details/8061/  (lang=en: ?lang=en)",
            "  Bitrix24 app main page:   http://127.0.0.1:8104/marketplace/app/payplan/",
            f"  API docs:                {base}/api/docs/",
            f"  Health:                  {base}/healthz",
            f"  Connect amoCRM (sandbox): {base}/amocrm/install",
            "  CloudPayments sandbox:   http://127.0.0.1:8101  amoCRM sandbox: http://127.0.0.1:8102",
            "  Bitrix24 sandbox:        http://127.0.0.1:8104 (installs PayPlan at start; /_sandbox/state)",
            "  A widget token for the demo manager (valid 12 h):",
            f"    export TOKEN={token}",
            f'    curl -H "X-Auth-Token: $TOKEN" {base}/api/v1/deals/17651',
            "Ctrl-C stops everything.", "=" * 72, "",
        ]))
        self.stdout.flush()
        if options["wait"]:
            signal.signal(signal.SIGTERM, lambda *_: exit(0))
            while True:
                time.sleep(3600)

    def _wait_healthy(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(url, timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.stderr.write(f"{url} did not answer within {timeout:.0f} s; printing the URLs anyway.")
