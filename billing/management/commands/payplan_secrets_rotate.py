"""Re-encrypt every secret at rest under the newest PAYPLAN_FERNET_KEYS key, so the old keys can be dropped."""
from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from billing.encryption import EncryptedTextField, fernet


class Command(BaseCommand):
    help = ("Re-encrypt every EncryptedTextField value with the first key of PAYPLAN_FERNET_KEYS (the old keys "
            "must still be listed after it); afterwards the old keys can be removed. Safe to run twice.")

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, **options):
        keys = fernet()
        total = 0
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if not isinstance(field, EncryptedTextField):
                    continue
                table, column, pk = (connection.ops.quote_name(name) for name in (
                    model._meta.db_table, field.column, model._meta.pk.column))
                done = self._rotate(keys, table, column, pk, options["batch_size"])
                total += done
                self.stdout.write(f"{model._meta.label}.{field.name}: {done} re-encrypted")
        self.stdout.write(f"{total} secrets re-encrypted under the newest key")

    @staticmethod
    def _rotate(keys, table: str, column: str, pk: str, batch_size: int) -> int:
        done, last = 0, None
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                after = "" if last is None else f"AND {pk} > %s"
                # Identifiers from the model registry, quoted; every value is a parameter.
                cursor.execute(f"SELECT {pk}, {column} FROM {table} WHERE {column} <> '' {after} "  # noqa: S608
                               f"ORDER BY {pk} LIMIT %s FOR UPDATE", ([] if last is None else [last]) + [batch_size])
                rows = cursor.fetchall()
                if not rows:
                    return done
                for row_id, token in rows:
                    cursor.execute(f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608
                                   [keys.rotate(token.encode()).decode(), row_id])
                done += len(rows)
                last = rows[-1][0]
