"""Tenant scoping of the CRM outbox, the revoke hook's installation binding, single-use install states.

CrmAction carries account_id and lead_id beside deal_id, and delivery sends by them: a row whose copy
disagreed with its deal would go to another account's amoCRM or another lead. From here PostgreSQL
refuses such a row (a foreign key on (deal, account, lead) to the deal's own triple). Existing rows were
all written from their deal by crm_action_add, so none should disagree; any that does is corrected from
its deal (the deal is the truth) before the key is added, so the migration cannot fail on old data.
SQLite (the zero-config demo) has no ALTER TABLE ADD CONSTRAINT: there the key is skipped.
"""
import django.utils.timezone
from django.db import migrations, models

CORRECT_FROM_DEAL = """
UPDATE widget_api_crmaction AS action SET account_id = deal.account_id, lead_id = deal.lead_id
FROM billing_deal AS deal
WHERE action.deal_id = deal.id AND (action.account_id <> deal.account_id OR action.lead_id <> deal.lead_id)
"""
ADD_KEY = """
ALTER TABLE widget_api_crmaction ADD CONSTRAINT crm_action_same_account_and_lead_as_deal
FOREIGN KEY (deal_id, account_id, lead_id) REFERENCES billing_deal (id, account_id, lead_id)
"""
DROP_KEY = "ALTER TABLE widget_api_crmaction DROP CONSTRAINT IF EXISTS crm_action_same_account_and_lead_as_deal"


def scope_actions_by_deal(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CORRECT_FROM_DEAL)
    schema_editor.execute(ADD_KEY)


def unscope_actions(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_KEY)


class Migration(migrations.Migration):

    dependencies = [
        ('widget_api', '0001_crm_connection_and_outbox'),
        ('billing', '0003_a2_deal_crm_key'),
    ]

    operations = [
        migrations.CreateModel(
            name='InstallStateUse',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('nonce', models.CharField(max_length=64, unique=True)),
                ('used_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
            ],
        ),
        migrations.AddField(
            model_name='crmconnection',
            name='install_generation',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(scope_actions_by_deal, unscope_actions),
    ]
