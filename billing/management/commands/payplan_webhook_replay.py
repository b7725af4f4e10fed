"""Re-process a stored CloudPayments notification (after a fix, or to inspect its answer)."""
from django.core.management.base import BaseCommand, CommandError

from billing.errors import ApplicationError
from billing.models import GatewayEvent
from billing.services.webhooks import gateway_event_process
from billing.webhooks.answers import webhook_answer


class Command(BaseCommand):
    help = "Re-process stored gateway events by id; --list shows the ones that need attention."

    def add_arguments(self, parser):
        parser.add_argument("event_ids", nargs="*", type=int)
        parser.add_argument("--force", action="store_true", help="process even if it was processed")
        parser.add_argument("--list", action="store_true", help="list unmatched, invalid and failed events")

    def handle(self, *args, **options):
        if options["list"]:
            attention = GatewayEvent.objects.exclude(status=GatewayEvent.Status.PROCESSED).order_by("id")
            for event in attention.select_related("account"):
                self.stdout.write(f"{event.pk}\t{event.account.slug}\t{event.kind}\t{event.transaction_id}\t"
                                  f"{event.status}\t{event.error}")
            return
        if not options["event_ids"]:
            raise CommandError("Give event ids, or --list.")
        for event_id in options["event_ids"]:
            if not GatewayEvent.objects.filter(pk=event_id).exists():
                raise CommandError(f"No gateway event {event_id}.")
            try:
                outcome = gateway_event_process(event_id=event_id, force=options["force"])
            except ApplicationError as exc:
                raise CommandError(f"event {event_id}: {exc.message}") from exc
            GatewayEvent.objects.filter(pk=event_id).update(replays=GatewayEvent.objects.get(pk=event_id).replays + 1)
            event = GatewayEvent.objects.get(pk=event_id)
            self.stdout.write(f"event {event_id}: {event.status}, answer {webhook_answer(outcome).body}")
