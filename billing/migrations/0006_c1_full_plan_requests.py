"""Every schedule version carries its complete plan request: versions saved before requests were stored
whole (the demo's `{"demo": true}`, requests with fields left out) get one rebuilt from their own lines,
so "Пересчитать график" opens with exactly the plan that is in force."""
from django.db import migrations

from billing.domain.plan_request import OPTION_FIELDS, REQUEST_FIELDS, StoredLine, plan_request_reconstruct


def _complete(request) -> bool:
    return isinstance(request, dict) and all(key in request for key in REQUEST_FIELDS)


def fill_requests(apps, schema_editor):
    Schedule = apps.get_model("billing", "Schedule")
    Installment = apps.get_model("billing", "Installment")
    for schedule in Schedule.objects.select_related("deal").order_by("pk").iterator(chunk_size=500):
        if _complete(schedule.request):
            continue
        lines = [StoredLine(seq=row.seq, kind=row.kind, label=row.label, due_date=row.due_date, amount=row.amount)
                 for row in Installment.objects.filter(schedule_id=schedule.pk).order_by("seq")]
        stored = schedule.request if isinstance(schedule.request, dict) else {}
        request = plan_request_reconstruct(plan=schedule.plan, total=schedule.total,
                                           already_paid=schedule.already_paid, lines=lines, stored=stored)
        deal = schedule.deal
        options = {"direction": schedule.direction, "group": deal.group,
                   "education_direction": deal.education_direction, "autopay": schedule.autopay,
                   "manager_id": schedule.manager_id}
        request.update({key: stored.get(key, options[key]) for key in OPTION_FIELDS})
        # The version's own columns are the facts; a stored option that disagrees with them loses.
        request.update({"direction": schedule.direction, "autopay": schedule.autopay,
                        "manager_id": schedule.manager_id})
        Schedule.objects.filter(pk=schedule.pk).update(request=request)


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0005_b2_event_deliveries"),
    ]

    operations = [
        migrations.RunPython(fill_requests, migrations.RunPython.noop, elidable=True),
    ]
