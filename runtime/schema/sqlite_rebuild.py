"""SQLite statements for a list of table changes.

SQLite's ALTER TABLE only adds, drops and renames columns. Any other change (a type, a
length, a default, NOT NULL, UNIQUE, a foreign key or a CHECK constraint) rebuilds the table
the way SQLite documents it: create the new table, copy the rows, drop the old table, rename
the new one, recreate the indexes. `apply.py` runs the statements in one transaction with
foreign keys off (so dropping the old table cascades nothing) and checks every foreign key
before it commits.
"""

from __future__ import annotations

from typing import Any

from runtime.schema.ddl import (
    Statement,
    check_clause,
    column_sql,
    create_index,
    create_table,
    drop_index,
    references,
    table_statements,
)
from runtime.schema.diff import TableChange
from runtime.schema.impact import backfill_statements, fit_statements
from runtime.schema.postgres_alter import Fits, altered_then_dropped
from runtime.schema.spec import Column, Schema, Table, q

REBUILD_PREFIX = "_plinth_new_"


def sqlite_statements(changes: list[TableChange], schema: Schema, fits: Fits) -> list[Statement]:
    """New tables, then changed tables, then dropped tables."""
    out: list[Statement] = []
    for change in changes:
        if change.old is None and change.new is not None:
            out += table_statements(change.new, schema)
    return out + altered_then_dropped(changes, lambda change: _alter(change, schema, fits))


def _physical(column: Column) -> tuple[Any, ...]:
    return (
        column.type,
        column.null,
        column.primary_key,
        column.unique,
        column.default,
        column.references,
        column.on_delete,
    )


def _addable(column: Column) -> bool:
    """What ALTER TABLE ADD COLUMN accepts: no key, no UNIQUE, a constant default."""
    default = (column.default or "null").lower()
    constant = "(" not in default and not default.startswith("current_")
    return (
        not column.primary_key
        and not column.unique
        and constant
        and (column.null or default != "null")
    )


def needs_rebuild(before: Table, after: Table) -> bool:
    added = {c.name for c in after.columns if not before.column(c.name)}
    for column in before.columns:
        other = after.column(column.name)
        if other is None:
            checked = any(c.column == column.name for c in before.checks)
            if column.references or column.unique or column.primary_key or checked:
                return True
        elif _physical(column) != _physical(other):
            return True
    if any(not _addable(c) for c in after.columns if c.name in added):
        return True
    old_checks = {c.identity for c in before.checks}
    new_checks = {c.identity for c in after.checks if c.column not in added}
    return old_checks != new_checks


def _alter(change: TableChange, schema: Schema, fits: Fits) -> list[Statement]:
    old, new, before = change.old, change.new, change.before
    assert old is not None and new is not None and before is not None
    sql = [
        f"ALTER TABLE {new.qualified} RENAME COLUMN {q(a)} TO {q(b)}"
        for a, b in change.renames.items()
    ]
    for step in change.steps:
        sql += backfill_statements(new, step)
        if (change.key, step) in fits:
            sql += fit_statements(new, step)
    if needs_rebuild(before, new):
        sql += rebuild(before, new, schema)
    else:
        sql += _in_place(before, new, schema)
    return [Statement(new.key, s) for s in sql]


def _in_place(before: Table, after: Table, schema: Schema) -> list[str]:
    """Drop and add columns and indexes: what SQLite's ALTER TABLE can do."""
    old_indexes = {i.identity: i for i in before.indexes}
    new_indexes = {i.identity: i for i in after.indexes}
    sql = [
        drop_index(after, index)
        for identity, index in old_indexes.items()
        if new_indexes.get(identity, index).name != index.name or identity not in new_indexes
    ]
    t = after.qualified
    sql += [
        f"ALTER TABLE {t} DROP COLUMN {q(c.name)}"
        for c in before.columns
        if not after.column(c.name)
    ]
    for column in after.columns:
        if before.column(column.name):
            continue
        extra = f" {references(column, schema)}" if column.references else ""
        checks = [c for c in after.checks if c.column == column.name]
        extra += "".join(f" {check_clause(c)}" for c in checks)
        sql.append(f"ALTER TABLE {t} ADD COLUMN {column_sql(column)}{extra}")
    sql += [
        create_index(after, index)
        for identity, index in new_indexes.items()
        if old_indexes.get(identity, index).name != index.name or identity not in old_indexes
    ]
    return sql


def rebuild(before: Table, after: Table, schema: Schema) -> list[str]:
    """SQLite's procedure for the changes ALTER TABLE cannot make; the rows keep every column
    the two tables share, new columns get their defaults.

    SQLite converts a copied value by the new column's type affinity and keeps what it cannot
    convert ('abc' stays text in an INTEGER column). So each column whose type changed is
    read back through Piccolo's converters (`apply.py` fetches a SELECT's rows): a value that
    does not convert fails the migration, as PostgreSQL's cast would."""
    temporary = REBUILD_PREFIX + after.name
    shared = ", ".join(q(c.name) for c in after.columns if before.column(c.name))
    converted = [
        c.name for c in after.columns if (found := before.column(c.name)) and found.type != c.type
    ]
    return [
        create_table(after, schema, name=temporary),
        f"INSERT INTO {q(temporary)} ({shared}) SELECT {shared} FROM {before.qualified}",
        *(f"SELECT {q(c)} FROM {q(temporary)} WHERE {q(c)} IS NOT NULL" for c in converted),
        f"DROP TABLE {before.qualified}",
        f"ALTER TABLE {q(temporary)} RENAME TO {after.qualified}",
        *(create_index(after, index) for index in after.indexes),
    ]
