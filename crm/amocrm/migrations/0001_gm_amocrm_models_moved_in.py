"""CrmConnection and InstallStateUse, moved here from widget_api: state only, the tables and rows stay."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import billing.encryption


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('widget_api', '0008_gm_crm_models_moved_out'),
        ('billing', '0018_gm_account_crm_kind'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
                migrations.CreateModel(
                    name='InstallStateUse',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('nonce', models.CharField(max_length=64, unique=True)),
                        ('used_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                    ],
                    options={
                        'db_table': 'widget_api_installstateuse',
                    },
                ),
                migrations.CreateModel(
                    name='CrmConnection',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('base_url', models.CharField(help_text='scheme://host of the account, e.g. https://x.amocrm.ru', max_length=255)),
                        ('access_token', billing.encryption.EncryptedTextField(blank=True)),
                        ('refresh_token', billing.encryption.EncryptedTextField(blank=True)),
                        ('expires_at', models.DateTimeField(blank=True, null=True)),
                        ('token_version', models.PositiveIntegerField(default=0)),
                        ('status', models.CharField(choices=[('connected', 'Connected'), ('needs_reinstall', 'Needs Reinstall'), ('disconnected', 'Disconnected')], default='connected', max_length=16)),
                        ('status_reason', models.CharField(blank=True, max_length=255)),
                        ('install_generation', models.PositiveIntegerField(default=0)),
                        ('connected_at', models.DateTimeField(blank=True, null=True)),
                        ('refreshed_at', models.DateTimeField(blank=True, null=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('account', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='crm_connection', to='billing.account')),
                    ],
                    options={
                        'db_table': 'widget_api_crmconnection',
                    },
                ),
        ], database_operations=[]),
    ]
