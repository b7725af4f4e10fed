"""A fresh, migrated PostgreSQL database for one benchmark (bench.settings names it), and bulk loading by COPY."""


def fresh_database() -> None:
    """Drop and re-create the benchmark's database, set Django up on it and migrate."""
    import django
    import psycopg
    from django.conf import settings
    from django.core.management import call_command

    name = settings.DATABASES["default"]["NAME"]
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    django.setup()
    call_command("migrate", verbosity=0)


def copy_rows(model, objects) -> None:
    """COPY model instances into their table: every concrete field but the id, as Django would store it
    (defaults included), so a column added to the model never breaks a benchmark's load."""
    from django.db import connection

    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    with connection.cursor() as cursor, cursor.connection.cursor().copy(
            f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
        for obj in objects:
            copy.write_row([field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields])
