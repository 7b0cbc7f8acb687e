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
from runtime.schema.spec import Check, Column, Index, Schema, Table, q

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
            # `later` names columns of `table`, so table.column(n) is never None here
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
    """Drops and renames first, then new columns and their values, then changed columns,
    then the checks and indexes that are new: each step finds what the one before left."""
    old, new, before = change.old, change.new, change.before
    assert old is not None and new is not None and before is not None
    common = [(a, b) for a in before.columns if (b := new.column(a.name))]
    old_indexes = {i.identity: i for i in before.indexes}
    new_indexes = {i.identity: i for i in new.indexes}
    old_checks = {c.identity: c for c in before.checks}
    new_checks = {c.identity: c for c in new.checks}
    sql = [
        *_move_and_rename_columns(old, new, change.renames),
        *_drop_or_rename_indexes(new, old_indexes, new_indexes),
        *_drop_or_rename_checks(new, old_checks, new_checks),
        *_drop_constraints(new, common),
        *_drop_and_add_columns(before, new, schema),
        *_fill(change, new, fits),
        *_change_columns(new, common, schema),
        *[
            f"ALTER TABLE {new.qualified} ADD {check_clause(check)}"
            for identity, check in new_checks.items()
            if identity not in old_checks
        ],
        *[
            create_index(new, index)
            for identity, index in new_indexes.items()
            if identity not in old_indexes
        ],
    ]
    return [Statement(new.key, s) for s in sql]


def _move_and_rename_columns(old: Table, new: Table, renames: dict[str, str]) -> list[str]:
    """SET SCHEMA when the module moved, then RENAME COLUMN (and its foreign key's name)."""
    t = new.qualified
    sql: list[str] = []
    if old.schema != new.schema:
        sql.append(f"ALTER TABLE {old.qualified} SET SCHEMA {q(new.schema or 'public')}")
    for source, target in renames.items():
        sql.append(f"ALTER TABLE {t} RENAME COLUMN {q(source)} TO {q(target)}")
        if (column := old.column(source)) and column.references:
            sql.append(
                f"ALTER TABLE {t} RENAME CONSTRAINT {q(fk_name(old, source))} "
                f"TO {q(fk_name(new, target))}"
            )
    return sql


def _drop_or_rename_indexes(
    new: Table, old_indexes: dict[tuple[Any, ...], Index], new_indexes: dict[tuple[Any, ...], Index]
) -> list[str]:
    """An index that is gone is dropped; one that is the same under another name, renamed."""
    sql: list[str] = []
    for identity, index in old_indexes.items():
        if identity not in new_indexes:
            sql.append(drop_index(new, index))
        elif new_indexes[identity].name != index.name:
            sql.append(
                f"ALTER INDEX {new.index_name(index.name)} RENAME TO "
                f"{q(new_indexes[identity].name)}"
            )
    return sql


def _drop_or_rename_checks(
    new: Table, old_checks: dict[tuple[Any, ...], Check], new_checks: dict[tuple[Any, ...], Check]
) -> list[str]:
    """A CHECK that is gone is dropped; one that is the same under another name, renamed."""
    t = new.qualified
    sql: list[str] = []
    for identity, check in old_checks.items():
        if identity not in new_checks:
            sql.append(f"ALTER TABLE {t} DROP CONSTRAINT {q(check.name)}")
        elif new_checks[identity].name != check.name:
            sql.append(
                f"ALTER TABLE {t} RENAME CONSTRAINT {q(check.name)} TO "
                f"{q(new_checks[identity].name)}"
            )
    return sql


def _drop_constraints(new: Table, common: list[tuple[Column, Column]]) -> list[str]:
    """The foreign keys that change and the UNIQUEs that go, before the columns change."""
    t = new.qualified
    sql: list[str] = []
    for a, b in common:
        if a.references and (a.references, a.on_delete) != (b.references, b.on_delete):
            sql.append(f"ALTER TABLE {t} DROP CONSTRAINT {q(fk_name(new, a.name))}")
        if a.unique and not b.unique:
            sql.append(f"ALTER TABLE {t} DROP CONSTRAINT {q(new.name + '_' + a.name + '_key')}")
    return sql


def _drop_and_add_columns(before: Table, new: Table, schema: Schema) -> list[str]:
    """DROP COLUMN of the columns gone, then ADD COLUMN (with its foreign key) of the new."""
    t = new.qualified
    sql: list[str] = []
    for column in before.columns:
        if not new.column(column.name):
            sql.append(f"ALTER TABLE {t} DROP COLUMN {q(column.name)}")
    for column in new.columns:
        if not before.column(column.name):
            fk = ""
            if column.references:
                fk = f" CONSTRAINT {q(fk_name(new, column.name))} {references(column, schema)}"
            sql.append(f"ALTER TABLE {t} ADD COLUMN {column_sql(column)}{fk}")
    return sql


def _fill(change: TableChange, new: Table, fits: Fits) -> list[str]:
    """Each step's backfill, and the fit of old values where the plan was told to make them fit."""
    sql: list[str] = []
    for step in change.steps:
        sql += backfill_statements(new, step)
        if (change.key, step) in fits:
            sql += fit_statements(new, step)
    return sql


def _change_columns(new: Table, common: list[tuple[Column, Column]], schema: Schema) -> list[str]:
    """ALTER COLUMN of the columns kept whose type, null, unique or default changed, then
    the foreign keys that are new or changed."""
    sql: list[str] = []
    for a, b in common:
        if _physical(a) != _physical(b):
            sql += _alter_column(new, a, b)
        if b.references and (a.references, a.on_delete) != (b.references, b.on_delete):
            sql.append(_add_fk(new, b, schema).sql)
    return sql


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
