"""CrmAction, moved here from widget_api: state only, the table widget_api_crmaction and its rows stay."""

import django.core.serializers.json
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('widget_api', '0008_gm_crm_models_moved_out'),
        ('billing', '0018_gm_account_crm_kind'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
                migrations.CreateModel(
                    name='CrmAction',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('lead_id', models.BigIntegerField()),
                        ('kind', models.CharField(choices=[('update_fields', 'Update Fields'), ('add_note', 'Add Note'), ('create_task', 'Create Task'), ('move_to_completed', 'Move To Completed'), ('fetch_lead', 'Fetch Lead'), ('update_lead', 'Update Lead'), ('update_contact', 'Update Contact'), ('summary_note', 'Summary Note')], max_length=24)),
                        ('payload', models.JSONField(default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder)),
                        ('source', models.CharField(blank=True, help_text='The event or caller that asked for it.', max_length=64)),
                        ('state', models.CharField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('done', 'Done'), ('dead', 'Dead')], default='pending', max_length=8)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('next_attempt_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('lease_expires_at', models.DateTimeField(blank=True, null=True)),
                        ('maybe_sent', models.BooleanField(default=False)),
                        ('send_alone', models.BooleanField(default=False, help_text='Refused inside a batch: sent by itself next.')),
                        ('last_error', models.TextField(blank=True)),
                        ('crm_entity_id', models.BigIntegerField(blank=True, help_text='The note or task id the CRM gave.', null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('account', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='crm_actions', to='billing.account')),
                        ('deal', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='crm_actions', to='billing.deal')),
                        ('event', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='billing.domainevent')),
                    ],
                    options={
                        'db_table': 'widget_api_crmaction',
                        'ordering': ['deal_id', 'id'],
                        'indexes': [models.Index(condition=models.Q(('state__in', ['pending', 'sending'])), fields=['account', 'next_attempt_at'], name='crm_action_open_by_account'), models.Index(condition=models.Q(('state__in', ['pending', 'sending'])), fields=['deal', 'id'], name='crm_action_open_by_deal')],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('kind', 'fetch_lead'), ('state', 'pending')), fields=('deal',), name='crm_action_one_waiting_fetch_per_deal'), models.UniqueConstraint(condition=models.Q(('event__isnull', False)), fields=('event', 'kind'), name='crm_action_once_per_event_and_kind')],
                    },
                ),
        ], database_operations=[]),
    ]
