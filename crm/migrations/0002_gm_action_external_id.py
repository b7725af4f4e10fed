"""The outbox names a deal by its CRM's id for it (`external_id`, was `lead_id`); the rows stay."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0001_gm_crm_action_moved_in'),
        ('billing', '0019_gm_neutral_crm_names'),
    ]

    operations = [
        migrations.RenameField(model_name='crmaction', old_name='lead_id', new_name='external_id'),
    ]
