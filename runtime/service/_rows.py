"""Lean INSERTs for the write path: SQL built once per table and column set, run on the
current transaction's connection. Piccolo's query builder costs more Python time than the
database spends on these single-row inserts (bench/bench_service.py)."""

from __future__ import annotations

from functools import cache
from typing import Any
from uuid import UUID

from piccolo.table import Table

from runtime.database import PlinthPostgresEngine
from runtime.service.tenancy import TENANT_SETTING


@cache
def _insert_sql(table: type[Table], columns: tuple[str, ...], dialect: str) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    if dialect == "postgres":
        marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    else:
        marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table._meta.get_formatted_tablename()} ({names}) VALUES ({marks})"


Rows = list[tuple[type[Table], dict[str, Any]]]


async def insert_rows(rows: Rows) -> None:
    """INSERT rows inside the running transaction (the service always has one). On
    PostgreSQL all of them go in ONE statement (data-modifying CTEs), one round trip."""
    engine = rows[0][0]._meta.db
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("insert_rows runs inside a write transaction")
    if engine.engine_type != "postgres":
        for table, values in rows:
            sql = _insert_sql(table, tuple(values), "sqlite")
            await transaction.connection.execute(sql, tuple(values.values()))
        return
    sql = _combined_sql(tuple((table, tuple(values)) for table, values in rows))
    args = [value for _, values in rows for value in values.values()]
    await transaction.connection.execute(sql, *args)


async def insert_at_once(engine: PlinthPostgresEngine, tenant: UUID, rows: Rows) -> None:
    """INSERT rows as ONE autocommit statement on a connection of the wall's role: the
    statement's first CTE sets the tenant, and every row is selected FROM it, so the policies'
    WITH CHECK runs only after the setting is made (`tenancy.single_statement_tenant` says
    when a write may go this way). One round trip, atomic like any single statement."""
    pool = await engine.role_pool()
    assert pool is not None, "insert_at_once needs the engine's pool running"
    sql = _walled_sql(tuple((table, tuple(values)) for table, values in rows))
    args = [value for _, values in rows for value in values.values()]
    async with pool.acquire() as connection:
        await connection.execute(sql, *args, str(tenant))


@cache
def _walled_sql(shape: tuple[tuple[type[Table], tuple[str, ...]], ...]) -> str:
    parts, offset = [], 0
    for table, columns in shape:
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join(f"${offset + i}" for i in range(1, len(columns) + 1))
        offset += len(columns)
        parts.append(
            f"INSERT INTO {table._meta.get_formatted_tablename()} ({names}) "
            f"SELECT {marks} FROM _wall"
        )
    wall = f"_wall AS (SELECT set_config('{TENANT_SETTING}', ${offset + 1}, true))"
    ctes = "".join(f", _w{i} AS ({sql})" for i, sql in enumerate(parts[:-1]))
    return f"WITH {wall}{ctes} {parts[-1]}"


@cache
def _combined_sql(shape: tuple[tuple[type[Table], tuple[str, ...]], ...]) -> str:
    parts, offset = [], 0
    for table, columns in shape:
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join(f"${offset + i}" for i in range(1, len(columns) + 1))
        offset += len(columns)
        parts.append(
            f"INSERT INTO {table._meta.get_formatted_tablename()} ({names}) VALUES ({marks})"
        )
    if len(parts) == 1:
        return parts[0]
    ctes = ", ".join(f"_w{i} AS ({sql})" for i, sql in enumerate(parts[:-1]))
    return f"WITH {ctes} {parts[-1]}"
