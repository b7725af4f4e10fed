"""[I] analytics at scale: the received rows are paged by keyset on (paid_at, id) within an account; built
CONCURRENTLY on PostgreSQL so a large payments table stays writable while it is built (a plain index on
the zero-config SQLite of `make run`)."""
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("billing", "0022_gw_account_crm_id_per_kind"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="payment",
            index=models.Index(fields=["account", "paid_at", "id"], name="payment_account_paid_at_id"),
        ),
    ]
