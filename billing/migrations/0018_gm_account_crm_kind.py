"""Accounts name the CRM their deals live in; every existing account is an amoCRM one."""
import billing.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0017_k_yookassa'),
    ]

    operations = [
        migrations.AddField(
            model_name='account',
            name='crm_kind',
            field=models.CharField(default='amocrm', max_length=16),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name='account',
            name='crm_kind',
            field=models.CharField(default=billing.models.default_crm_kind, max_length=16),
        ),
    ]
