"""A queryset's SQL compiled by the ORM once and run many times with other values [I] (the analytics row pages,
the worklist page, the dunning policy read: building and compiling their querysets cost more than running them).

The queryset is built twice with stand-in values (two seeds: values no request holds, each of its parameter's
type and unlike every other); comparing the two compilations tells which parameter comes from which value. A
value the SQL text holds, a parameter derived from one, or columns in another order than asked: not compiled
once (None), the caller compiles as usual. PostgreSQL only: callers fall back elsewhere."""
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet


def queryset_compiled(queryset: QuerySet, values: dict) -> tuple[str, list, dict, bool, tuple]:
    """What `compiled_statement` takes of a `values_list` queryset built of the stand-ins `values`."""
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    query = queryset.query
    as_selected = [*query.extra_select, *query.values_select, *query.annotation_select] == list(queryset._fields)
    converters = compiler.get_converters([expression for expression, _sql, _alias in compiler.select])
    return sql, list(params), values, as_selected, tuple(converters.items())


@dataclass(frozen=True)
class CompiledStatement:
    sql: str
    # Per parameter: (the slot its value comes from, the parameter's own type to wrap it in) or (None, constant).
    parts: tuple[tuple[str | None, object], ...]
    # What the ORM does to the values read (`SQLCompiler.apply_converters`): position, converters, expression.
    converters: tuple

    def params(self, slots: dict) -> list:
        return [value if name is None else (value(slots[name]) if value else slots[name])
                for name, value in self.parts]

    def rows(self, fetched: list[tuple]) -> list[tuple]:
        if not self.converters:
            return fetched
        rows = []
        for fetched_row in fetched:
            row = list(fetched_row)
            for position, (functions, expression) in self.converters:
                for function in functions:
                    row[position] = function(row[position], expression, connection)
            rows.append(tuple(row))
        return rows


def compiled_statement(compiled: Callable[[int], tuple[str, list, dict, bool, tuple]]) -> CompiledStatement | None:
    """A queryset's SQL compiled once, with where each parameter comes from: `compiled(seed)` gives what
    `queryset_compiled` gives for the stand-ins of that seed (1 and 2). None when the stand-ins cannot tell (a
    value in the SQL text, a parameter derived from one) or the columns come in another order: then compile as
    usual."""
    sql, params, values, as_selected, converters = compiled(1)
    other_sql, other_params, other_values, _as_selected, _converters = compiled(2)
    if not as_selected or sql != other_sql or len(params) != len(other_params):
        return None
    parts: list[tuple[str | None, object]] = []
    for param, other in zip(params, other_params, strict=True):
        name = _slot_of(param, values)
        if name is None:
            if param != other or _slot_of(other, other_values) is not None:
                return None  # it changes with the values, but is none of them
            parts.append((None, param))
        elif _slot_of(other, other_values) != name:
            return None
        else:
            parts.append((name, _wrapper(param, values[name])))
    return CompiledStatement(sql=sql, parts=tuple(parts), converters=converters)


def _slot_of(param, values: dict) -> str | None:
    found = [name for name, value in values.items()
             if type(param) is not bool and isinstance(param, type(value)) and param == value]
    return found[0] if len(found) == 1 else None


def _wrapper(param, value) -> Callable | None:
    """The parameter's own int type (psycopg's Int4, Int8: how PostgreSQL is told the type), else None."""
    kind = type(param)
    return kind if kind is not type(value) and isinstance(param, int) else None
