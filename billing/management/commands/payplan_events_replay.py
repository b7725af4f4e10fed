"""Inspect and re-queue event deliveries (the relay's dead letter), and optionally run the relay now."""
from django.core.management.base import BaseCommand, CommandError

from billing.events import handler_keys
from billing.services.relay import deliveries_list, deliveries_replay, events_relay_run


class Command(BaseCommand):
    help = ("Re-queue event deliveries: --dead (all dead-lettered), --id N (any that is not running), "
            "--handler KEY (its dead ones, or narrows the others); --list shows them instead.")

    def add_arguments(self, parser):
        parser.add_argument("--list", action="store_true", help="list deliveries (dead ones with --dead)")
        parser.add_argument("--dead", action="store_true", help="the dead-lettered deliveries")
        parser.add_argument("--id", dest="ids", type=int, action="append", default=[], help="a delivery id")
        parser.add_argument("--handler", help="a handler key, one of the registered ones")
        parser.add_argument("--run", action="store_true", help="run the relay here once they are re-queued")

    def handle(self, *args, **options):
        handler = options["handler"]
        if handler and handler not in handler_keys():
            raise CommandError(f"No handler {handler!r}; registered: {', '.join(handler_keys())}.")
        if options["list"]:
            for delivery in deliveries_list(dead=options["dead"], delivery_ids=options["ids"], handler=handler):
                self.stdout.write(f"{delivery.pk}\t{delivery.handler}\tevent {delivery.event_id} "
                                  f"{delivery.event.name}\t{delivery.state}\tattempts {delivery.attempts}\t"
                                  f"{delivery.last_error.splitlines()[0] if delivery.last_error else ''}")
            return
        if not (options["dead"] or options["ids"] or handler):
            raise CommandError("Say which deliveries: --dead, --id N or --handler KEY (or --list).")
        count = deliveries_replay(dead=options["dead"], delivery_ids=options["ids"], handler=handler)
        self.stdout.write(f"{count} deliveries re-queued")
        if options["run"]:
            report = events_relay_run()
            self.stdout.write(f"relay: {report.done} done, {report.retried} retried, {report.dead} dead")
