"""The CRM models leave widget_api for crm (CrmAction) and crm.amocrm (CrmConnection, InstallStateUse).

State only: the tables stay where they are (the new models name them in Meta.db_table), no row is copied."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('widget_api', '0007_merge_action_kinds'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
                migrations.RemoveField(
                    model_name='crmaction',
                    name='account',
                ),
                migrations.RemoveField(
                    model_name='crmaction',
                    name='deal',
                ),
                migrations.RemoveField(
                    model_name='crmaction',
                    name='event',
                ),
                migrations.RemoveField(
                    model_name='crmconnection',
                    name='account',
                ),
                migrations.DeleteModel(
                    name='InstallStateUse',
                ),
                migrations.DeleteModel(
                    name='CrmAction',
                ),
                migrations.DeleteModel(
                    name='CrmConnection',
                ),
        ], database_operations=[]),
    ]
