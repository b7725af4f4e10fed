"""A fresh, migrated PostgreSQL database for one benchmark (bench.settings names it)."""


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
