"""PostgreSQL statements for a list of table changes. PostgreSQL alters tables in place, and
the whole list runs in one transaction (`apply.py`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtime.schema.ddl import (
    Statement,
    check_clause,
    column_sql,
    create_index,
    drop_index,
    fk_name,
    references,
    table_statements,
)
from runtime.schema.diff import TableChange
from runtime.schema.impact import backfill_statements, fit_statements
from runtime.schema.spec import Column, Schema, Table, q

# (table key, step) pairs whose old values are made to fit. A list: a step may hold a JSON
# default (a dict), so steps are compared, never hashed.
Fits = list[tuple[str, object]]


def postgres_statements(changes: list[TableChange], schema: Schema, fits: Fits) -> list[Statement]:
    """Schemas, then new tables, then changed tables, then dropped tables."""
    out: list[Statement] = []
    modules = {c.new.schema for c in changes if c.new and c.new.schema}
    out += [Statement("", f"CREATE SCHEMA IF NOT EXISTS {q(m)}") for m in sorted(modules)]
    created: set[str] = set()
    deferred: list[Statement] = []
    new_keys = {c.key for c in changes if c.old is None}
    for change in changes:
        if change.old is None and change.new is not None:
            table = change.new
            later = frozenset(
                c.name
                for c in table.columns
                if c.references in new_keys - created and c.references != table.key
            )
            out += table_statements(table, schema, later)
            deferred += [_add_fk(table, table.column(n), schema) for n in sorted(later)]  # type: ignore[arg-type]
            created.add(table.key)
    out += deferred
    return out + altered_then_dropped(changes, lambda change: _alter(change, schema, fits))


def altered_then_dropped(
    changes: list[TableChange], alter: Callable[[TableChange], list[Statement]]
) -> list[Statement]:
    """The statements of changed tables (`alter`), then DROP TABLE of removed ones."""
    out: list[Statement] = []
    for change in changes:
        if change.old is not None and change.new is not None:
            out += alter(change)
    for change in changes:
        if change.new is None and change.old is not None:
            out.append(Statement(change.key, f"DROP TABLE {change.old.qualified}"))
    return out


def _add_fk(table: Table, column: Column, schema: Schema) -> Statement:
    return Statement(
        table.key,
        f"ALTER TABLE {table.qualified} ADD CONSTRAINT {q(fk_name(table, column.name))} "
        f"FOREIGN KEY ({q(column.name)}) {references(column, schema)}",
    )


def _physical(column: Column) -> tuple[Any, ...]:
    return (column.type, column.null, column.unique, column.default)


def _alter(change: TableChange, schema: Schema, fits: Fits) -> list[Statement]:
    old, new, before = change.old, change.new, change.before
    assert old is not None and new is not None and before is not None
    t = new.qualified
    sql: list[str] = []
    if old.schema != new.schema:
        sql.append(f"ALTER TABLE {old.qualified} SET SCHEMA {q(new.schema or 'public')}")
    for source, target in change.renames.items():
        sql.append(f"ALTER TABLE {t} RENAME COLUMN {q(source)} TO {q(target)}")
        if old.column(source) and old.column(source).references:  # type: ignore[union-attr]
            sql.append(
                f"ALTER TABLE {t} RENAME CONSTRAINT {q(fk_name(old, source))} "
                f"TO {q(fk_name(new, target))}"
            )
    old_indexes = {i.identity: i for i in before.indexes}
    new_indexes = {i.identity: i for i in new.indexes}
    for identity, index in old_indexes.items():
        if identity not in new_indexes:
            sql.append(drop_index(new, index))
        elif new_indexes[identity].name != index.name:
            sql.append(
                f"ALTER INDEX {new.index_name(index.name)} RENAME TO "
                f"{q(new_indexes[identity].name)}"
            )
    old_checks = {c.identity: c for c in before.checks}
    new_checks = {c.identity: c for c in new.checks}
    for identity, check in old_checks.items():
        if identity not in new_checks:
            sql.append(f"ALTER TABLE {t} DROP CONSTRAINT {q(check.name)}")
        elif new_checks[identity].name != check.name:
            sql.append(
                f"ALTER TABLE {t} RENAME CONSTRAINT {q(check.name)} TO "
                f"{q(new_checks[identity].name)}"
            )
    common = [(c, new.column(c.name)) for c in before.columns if new.column(c.name)]
    for a, b in common:
        assert b is not None
        if a.references and (a.references, a.on_delete) != (b.references, b.on_delete):
            sql.append(f"ALTER TABLE {t} DROP CONSTRAINT {q(fk_name(new, a.name))}")
        if a.unique and not b.unique:
            sql.append(f"ALTER TABLE {t} DROP CONSTRAINT {q(new.name + '_' + a.name + '_key')}")
    for column in before.columns:
        if not new.column(column.name):
            sql.append(f"ALTER TABLE {t} DROP COLUMN {q(column.name)}")
    for column in new.columns:
        if not before.column(column.name):
            fk = ""
            if column.references:
                fk = f" CONSTRAINT {q(fk_name(new, column.name))} {references(column, schema)}"
            sql.append(f"ALTER TABLE {t} ADD COLUMN {column_sql(column)}{fk}")
    for step in change.steps:
        sql += backfill_statements(new, step)
        if (change.key, step) in fits:
            sql += fit_statements(new, step)
    for a, b in common:
        assert b is not None
        if _physical(a) != _physical(b):
            sql += _alter_column(new, a, b)
        if b.references and (a.references, a.on_delete) != (b.references, b.on_delete):
            sql.append(_add_fk(new, b, schema).sql)
    for identity, check in new_checks.items():
        if identity not in old_checks:
            sql.append(f"ALTER TABLE {t} ADD {check_clause(check)}")
    for identity, index in new_indexes.items():
        if identity not in old_indexes:
            sql.append(create_index(new, index))
    return [Statement(new.key, s) for s in sql]


def _base(sql_type: str) -> str:
    base = sql_type.split("(")[0].strip().upper()
    return "TEXT" if base in ("VARCHAR", "TEXT") else base


def _alter_column(table: Table, a: Column, b: Column) -> list[str]:
    """Type first (PostgreSQL's own casts refuse values that do not fit: never USING a cast
    to VARCHAR(n), which would cut them silently), then NOT NULL, default and UNIQUE."""
    prefix = f"ALTER TABLE {table.qualified} ALTER COLUMN {q(b.name)}"
    sql = []
    if a.type != b.type:
        using = f" USING {q(b.name)}::{b.type}" if _base(a.type) != _base(b.type) else ""
        sql.append(f"{prefix} TYPE {b.type}{using}")
    if a.null != b.null:
        sql.append(f"{prefix} {'DROP' if b.null else 'SET'} NOT NULL")
    if a.default != b.default:
        sql.append(f"{prefix} SET DEFAULT {b.default}" if b.default else f"{prefix} DROP DEFAULT")
    if b.unique and not a.unique:
        name = q(f"{table.name}_{b.name}_key")
        sql.append(f"ALTER TABLE {table.qualified} ADD CONSTRAINT {name} UNIQUE ({q(b.name)})")
    return sql
