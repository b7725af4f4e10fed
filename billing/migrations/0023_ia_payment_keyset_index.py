"""[I] analytics at scale: the received rows are paged by keyset on (paid_at, id) within an account; built
CONCURRENTLY so a large payments table stays writable while it is built."""
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("billing", "0022_gw_account_crm_id_per_kind"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="payment",
            index=models.Index(fields=["account", "paid_at", "id"], name="payment_account_paid_at_id"),
        ),
    ]
