"""A billing tick in its own process that SIGKILLs itself once the gateway answered, before the answers
are recorded (tests/invoicing/test_tick_batches.py): argv = sandbox url, YYYY-MM-DD."""
import os
import signal
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django

django.setup()

from django.conf import settings  # noqa: E402

from billing.services import invoice_batches  # noqa: E402
from billing.services.billing_run import billing_run  # noqa: E402


def killed_before_the_commit(*, account, answers, report):
    assert answers
    assert all(answer.order is not None for answer in answers), answers
    print(f"answered {len(answers)}", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


settings.CLOUDPAYMENTS_API_URL = sys.argv[1].rstrip("/") + "/"
invoice_batches.invoices_orders_record = killed_before_the_commit
billing_run(today=date.fromisoformat(sys.argv[2]))
print("not killed", flush=True)
