"""Lean INSERTs for the write path: SQL built once per table and column set. Piccolo's query
builder costs more Python time than the database spends on these single-row inserts
(bench/bench_service.py)."""

from __future__ import annotations

import operator
from functools import cache
from itertools import repeat
from typing import Any
from uuid import UUID

from piccolo.table import Table

from runtime.database import PlinthPostgresEngine
from runtime.service.tenancy import TENANT_SETTING

Rows = list[tuple[type[Table], dict[str, Any]]]
Shape = tuple[tuple[type[Table], tuple[str, ...]], ...]


async def insert_rows(rows: Rows) -> None:
    """INSERT rows inside the running transaction (the service always has one). On
    PostgreSQL all of them go in ONE statement (data-modifying CTEs), one round trip."""
    engine = rows[0][0]._meta.db
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("insert_rows runs inside a write transaction")
    if engine.engine_type != "postgres":
        for table, values in rows:
            sql = _sqlite_sql(table, tuple(values))
            await transaction.connection.execute(sql, tuple(values.values()))
        return
    await transaction.connection.execute(_postgres_sql(_shape(rows), walled=False), *_args(rows))


async def insert_at_once(engine: PlinthPostgresEngine, tenant: UUID, rows: Rows) -> None:
    """INSERT rows as ONE autocommit statement on a connection of the wall's role: the
    statement's first CTE sets the tenant, and every row is selected FROM it, so the policies'
    WITH CHECK runs only after the setting is made (`tenancy.single_statement_tenant` says
    when a write may go this way). One round trip, atomic like any single statement."""
    pool = await engine.role_pool()
    assert pool is not None, "insert_at_once needs the engine's pool running"
    sql = _postgres_sql(_shape(rows), walled=True)
    async with pool.acquire() as connection:
        await connection.execute(sql, *_args(rows), str(tenant))


async def update_with_rows(
    table: type[Table],
    changes: dict[str, Any],
    key: tuple[Any, int],
    rows: Rows,
) -> bool:
    """UPDATE the row `key` = (id, version) with `changes` (and version + 1), and INSERT
    `rows` (its timeline entry and outbox event) only if it was updated: ONE statement, in
    the running transaction (PostgreSQL). False when no row is at that version."""
    engine = table._meta.db
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("update_with_rows runs inside a write transaction")
    sql = _update_sql(table, tuple(changes), _shape(rows))
    args = [*changes.values(), *key, *_args(rows)]
    updated: int = await transaction.connection.fetchval(sql, *args)
    return updated == 1


@cache
def _update_sql(table: type[Table], columns: tuple[str, ...], shape: Shape) -> str:
    sets = ", ".join(f'"{c}" = ${i}' for i, c in enumerate(columns, 1))
    offset = len(columns) + 2
    ctes = [
        f"_u AS (UPDATE {table._meta.get_formatted_tablename()} SET {sets}, "
        f'"version" = "version" + 1 WHERE "id" = ${offset - 1} AND "version" = ${offset} '
        'RETURNING "id")'
    ]
    for i, (target, names) in enumerate(shape):
        quoted = ", ".join(f'"{c}"' for c in names)
        marks = ", ".join(f"${offset + j}" for j in range(1, len(names) + 1))
        offset += len(names)
        ctes.append(
            f"_w{i} AS (INSERT INTO {target._meta.get_formatted_tablename()} ({quoted}) "
            f"SELECT {marks} FROM _u)"
        )
    return f"WITH {', '.join(ctes)} SELECT count(*) FROM _u"


def _shape(rows: Rows) -> Shape:
    return tuple((table, tuple(values)) for table, values in rows)


def _args(rows: Rows) -> list[Any]:
    return [value for _, values in rows for value in values.values()]


@cache
def _sqlite_sql(table: type[Table], columns: tuple[str, ...]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table._meta.get_formatted_tablename()} ({names}) VALUES ({marks})"


@cache
def _postgres_sql(shape: Shape, *, walled: bool) -> str:
    """One INSERT per table, all but the last as data-modifying CTEs. `walled`: each row is
    SELECTed FROM a first CTE that sets the tenant (the last parameter)."""
    parts, offset = [], 0
    for table, columns in shape:
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join(f"${offset + i}" for i in range(1, len(columns) + 1))
        offset += len(columns)
        source = f"SELECT {marks} FROM _wall" if walled else f"VALUES ({marks})"
        parts.append(f"INSERT INTO {table._meta.get_formatted_tablename()} ({names}) {source}")
    first = [f"_wall AS (SELECT set_config('{TENANT_SETTING}', ${offset + 1}, true))"]
    return _one_statement(parts, first if walled else [])


def _one_statement(inserts: list[str], ctes: list[str]) -> str:
    """INSERTs as one statement: all but the last as data-modifying CTEs (after `ctes`). The
    foreign keys are checked at the end of the statement, so one INSERT may refer to rows of
    another."""
    ctes = ctes + [f"_w{i} AS ({sql})" for i, sql in enumerate(inserts[:-1])]
    return f"WITH {', '.join(ctes)} {inserts[-1]}" if ctes else inserts[-1]


async def insert_many(rows: Rows) -> None:
    """INSERT many rows inside the running transaction, grouped by table and column set in
    the order first seen. On PostgreSQL all of them go in ONE statement, one round trip: an
    INSERT … SELECT FROM unnest(one array per column) per group, chained as data-modifying
    CTEs — the policies and triggers run as for any INSERT, which COPY would not allow under
    row-level security. A column that holds the same object in every row of its group (the
    tenant, the event, a null) goes as one value, not an array of copies. SQLite takes an
    executemany per group."""
    if not rows:
        return
    engine = rows[0][0]._meta.db
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("insert_many runs inside a write transaction")
    groups: dict[tuple[type[Table], tuple[str, ...]], list[tuple[Any, ...]]] = {}
    for table, values in rows:
        groups.setdefault((table, tuple(values)), []).append(tuple(values.values()))
    if engine.engine_type != "postgres":
        for (table, columns), args in groups.items():
            await transaction.connection.executemany(_sqlite_sql(table, columns), args)
        return
    shape: list[tuple[type[Table], tuple[str, ...], tuple[bool, ...]]] = []
    params: list[Any] = []
    for (table, names), args in groups.items():
        by_column = list(zip(*args, strict=True))
        same = tuple(i > 0 and _one_object(cells) for i, cells in enumerate(by_column))
        shape.append((table, names, same))
        for cells, one in zip(by_column, same, strict=True):
            params.append(cells[0] if one else list(cells))
    await transaction.connection.execute(_unnest_sql(tuple(shape)), *params)


def _one_object(column: tuple[Any, ...]) -> bool:
    """Does every row hold the very same object (`is`, so 1.0 and 1.00 stay apart)?"""
    return all(map(operator.is_, column, repeat(column[0])))


@cache
def _unnest_sql(shape: tuple[tuple[type[Table], tuple[str, ...], tuple[bool, ...]], ...]) -> str:
    """`shape`: per group its table, columns, and which of them come as one value (never the
    first: the arrays give the number of rows)."""
    inserts, offset = [], 0
    for table, columns, same in shape:
        names = ", ".join(f'"{c}"' for c in columns)
        arrays, selected = [], []
        for i, (column, one) in enumerate(zip(columns, same, strict=True), offset + 1):
            kind = array_type(table, column)
            if one:
                selected.append(f"${i}::{kind}")
            else:
                arrays.append(f"${i}::{kind}[]")
                selected.append(f"_u.c{len(arrays)}")
        offset += len(columns)
        aliases = ", ".join(f"c{n}" for n in range(1, len(arrays) + 1))
        inserts.append(
            f"INSERT INTO {table._meta.get_formatted_tablename()} ({names}) "
            f"SELECT {', '.join(selected)} FROM unnest({', '.join(arrays)}) AS _u({aliases})"
        )
    return _one_statement(inserts, [])


def array_type(table: type[Table], column: str) -> str:
    """The column's SQL type without its length or precision (an array cast needs none)."""
    found = table._meta.get_column_by_name(column)
    return str(found.column_type).split("(")[0]
