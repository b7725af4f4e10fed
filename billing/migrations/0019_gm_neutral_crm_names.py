"""Billing's vocabulary is CRM-neutral: a deal has a CRM kind and an external id (was `lead_id`), an
account a CRM account id and a slug (were its amoCRM id and subdomain). Renames keep every row; every
existing deal is an amoCRM one. The CRM outbox's composite foreign key (widget_api 0002) follows the
renamed column, and its target (deal_identity_for_crm_actions) is kept."""
import billing.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0018_gm_account_crm_kind'),
    ]

    operations = [
        migrations.RenameField(model_name='account', old_name='amocrm_account_id', new_name='crm_account_id'),
        migrations.RenameField(model_name='account', old_name='subdomain', new_name='slug'),
        migrations.AlterField(
            model_name='account',
            name='host',
            field=models.CharField(help_text="The CRM account's host, e.g. school.example.ru", max_length=255),
        ),
        migrations.RemoveConstraint(model_name='deal', name='deal_lead_unique_per_account'),
        migrations.RemoveConstraint(model_name='deal', name='deal_lead_id_positive'),
        migrations.RenameField(model_name='deal', old_name='lead_id', new_name='external_id'),
        # The outbox's foreign key targets this unique index: the database renamed its column already, only
        # Django's picture of it changes (dropping it would need the foreign key dropped first). Right after
        # the rename, so SQLite's table rebuilds below (AddField) see the index on `external_id`.
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RemoveConstraint(model_name='deal', name='deal_identity_for_crm_actions'),
            migrations.AddConstraint(
                model_name='deal',
                constraint=models.UniqueConstraint(fields=('id', 'account', 'external_id'),
                                                   name='deal_identity_for_crm_actions'),
            ),
        ], database_operations=[]),
        migrations.AddField(
            model_name='deal',
            name='crm_kind',
            field=models.CharField(default='amocrm', max_length=16),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name='deal',
            name='crm_kind',
            field=models.CharField(default=billing.models.default_crm_kind, max_length=16),
        ),
        migrations.AddConstraint(
            model_name='deal',
            constraint=models.UniqueConstraint(fields=('account', 'crm_kind', 'external_id'),
                                               name='deal_external_id_unique_per_account_and_crm'),
        ),
        migrations.AddConstraint(
            model_name='deal',
            constraint=models.CheckConstraint(condition=models.Q(('external_id__gt', 0)),
                                              name='deal_external_id_positive'),
        ),
        migrations.RenameField(model_name='clientregistration', old_name='crm_lead_id', new_name='crm_external_id'),
    ]
