"""Multi-row INSERT … ON CONFLICT DO NOTHING RETURNING: which of a batch of unique rows this caller made.

Django's `bulk_create(ignore_conflicts=True)` inserts a batch in one statement but cannot say which rows
were new, and the tick must publish an event only for the rows it inserted itself (two overlapping ticks
race for the same unique rows; the loser's statement waits for the winner's commit, then skips them).
PostgreSQL and SQLite ≥ 3.35 both take this statement.
"""
from django.db import connections, models, router

BATCH_ROWS = 500  # 16 columns × 500 rows stays far below both databases' parameter limits


def insert_new_rows(model: type[models.Model], objs: list[models.Model], returning: tuple[str, ...]) -> list[tuple]:
    """Insert `objs`, skipping any that hit a unique constraint; returns the `returning` columns (attnames,
    e.g. "line_id") of the rows actually inserted."""
    if not objs:
        return []
    connection = connections[router.db_for_write(model)]
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    by_attname = {field.attname: field.column for field in model._meta.concrete_fields}
    returned = ", ".join(quote(by_attname[name]) for name in returning)
    table = quote(model._meta.db_table)
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    inserted: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(objs), BATCH_ROWS):
            batch = objs[start:start + BATCH_ROWS]
            params = []
            for obj in batch:
                for field in fields:
                    params.append(field.get_db_prep_save(field.pre_save(obj, add=True), connection=connection))
            # Identifiers come from the model's meta (quoted); every value is a parameter.
            values = ", ".join([row_sql] * len(batch))
            sql = f"INSERT INTO {table} ({columns}) VALUES {values} ON CONFLICT DO NOTHING RETURNING {returned}"  # noqa: S608
            cursor.execute(sql, params)
            inserted += [tuple(row) for row in cursor.fetchall()]
    return inserted
