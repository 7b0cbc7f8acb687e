"""Keyset pagination in SQL: the ORDER BY of a list of sort keys and the condition "after
this row" over the same keys, so a page starts where the last one ended without counting
the rows before it (an OFFSET reads and drops every one of them).

NULL orders as greater than every value on both databases: last ascending, first descending
(PostgreSQL's own order; SQLite, which puts NULL first, gets an `IS NULL` term before the
key). Text orders by code point on both, as filters compare it (`sql.by_code_point`). The
last key must be unique and never NULL (the row's `id`), so the order is total and a page
boundary falls between two rows, never inside a run of equal values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from piccolo.columns.combination import WhereRaw
from piccolo.querystring import QueryString
from piccolo.table import Table

from runtime.filters.sql import by_code_point, path_sql


@dataclass(frozen=True, slots=True)
class SortKey:
    path: str  # a field path: "due_at", "contact.company.name"
    descending: bool = False
    nullable: bool = True  # False for the columns that are never NULL (id, created_at, ...)


@dataclass(frozen=True, slots=True)
class Prefix:
    """A text key value too long for a cursor, as its first characters. The row it came
    from (named by the last key, its id) gives the whole value while it exists; once that
    row is deleted the prefix bounds the page instead: it may repeat rows, never skip one."""

    text: str


def key_sql(table: type[Table], key: SortKey) -> str:
    expr, column = path_sql(table, key.path)
    return by_code_point(expr, column)


def order_terms(table: type[Table], keys: Sequence[SortKey]) -> list[tuple[QueryString, bool]]:
    """(expression, ascending) for each term of the ORDER BY of `keys`."""
    sqlite = table._meta.db.engine_type == "sqlite"
    terms: list[tuple[QueryString, bool]] = []
    for key in keys:
        expr = key_sql(table, key)
        if sqlite and key.nullable:  # NULL last ascending, first descending, as PostgreSQL
            terms.append((QueryString(f"({expr} IS NULL)"), not key.descending))
        terms.append((QueryString(expr), not key.descending))
    return terms


def after(table: type[Table], keys: Sequence[SortKey], values: Sequence[Any]) -> WhereRaw:
    """Rows that come after the row whose keys hold `values`, in the order of `keys`:
    (k1 after v1) OR (k1 = v1 AND k2 after v2) OR …; when the first key is never NULL it
    also bounds the scan (k1 >= v1 ascending), which an index on it can serve."""
    args: list[Any] = []
    exprs = [key_sql(table, key) for key in keys]

    def param(value: Any, i: int | None = None) -> str:
        if not isinstance(value, Prefix) or i is None:
            args.append(value)
            return "{}"
        whole, _ = path_sql(table, keys[i].path, '"_c"')
        pk = table._meta.primary_key._meta.db_column_name
        source = table._meta.get_formatted_tablename()
        row = f'(SELECT {whole} FROM {source} AS "_c" WHERE "_c"."{pk}" = {param(values[-1])})'
        bound = value.text + ("\U0010ffff" if keys[i].descending else "")
        return f"COALESCE({row}, {param(bound)})"

    def equal(i: int) -> str:
        return f"{exprs[i]} IS NULL" if values[i] is None else f"{exprs[i]} = {param(values[i], i)}"

    def beyond(i: int) -> str:
        key, expr, value = keys[i], exprs[i], values[i]
        if value is None:  # NULL is the greatest: after it come only the non-NULLs, descending
            return f"{expr} IS NOT NULL" if key.descending else "1 = 0"
        if key.descending:
            return f"{expr} < {param(value, i)}"
        nulls = f" OR {expr} IS NULL" if key.nullable else ""
        return f"({expr} > {param(value, i)}{nulls})"

    first, bound = keys[0], ""  # placeholders fill in the order they appear: the bound first
    if not first.nullable and values[0] is not None:
        bound = f"{exprs[0]} {'<=' if first.descending else '>='} {param(values[0])} AND "
    branches = [" AND ".join([*(equal(j) for j in range(i)), beyond(i)]) for i in range(len(keys))]
    return WhereRaw(bound + "(" + " OR ".join(f"({b})" for b in branches) + ")", *args)
