"""Running one migration's statements in ONE transaction, and the applied-schema snapshot.

The snapshot (the schema as of the last migration) is written by the same transaction as the
statements, so the database always knows its own schema: `plinth plan` compares the
definitions with it. On SQLite the transaction runs with foreign keys off (a table rebuild
drops the old table, which must cascade nothing) and `PRAGMA foreign_key_check` runs before
the commit: a violation rolls everything back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import Any, cast

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine

from runtime.database import is_postgres
from runtime.schema.ddl import Statement
from runtime.schema.spec import Schema

STATE_TABLE = "plinth_schema_state"
APP = "plinth"
SCHEMA_CHANNEL = "plinth_schema"  # NOTIFY'd by `plinth migrate` once the new schema is usable
CREATE_STATE = (
    f'CREATE TABLE IF NOT EXISTS "{STATE_TABLE}" ("app" VARCHAR(100) PRIMARY KEY, '
    '"migration" VARCHAR(200) NOT NULL, "digest" VARCHAR(64) NOT NULL, "snapshot" TEXT NOT NULL)'
)

# (statement, index, total, seconds or None while it runs): set by the CLI to show progress.
Reporter = Callable[[Statement, int, int, float | None], None]
reporter: ContextVar[Reporter | None] = ContextVar("plinth_migration_reporter", default=None)


class StatementFailed(Exception):
    """A statement failed; the transaction was rolled back, nothing changed."""

    def __init__(self, statement: Statement, error: Exception) -> None:
        self.statement = statement
        self.error = error
        super().__init__(f"{statement.sql}\n{type(error).__name__}: {error}")


async def read_state(
    engine: Engine[Any], target: Schema | None = None
) -> tuple[str | None, Schema]:
    """The last applied migration's id and schema (none yet: an empty schema). When it is
    `target` (same digest), `target` is returned without reading the whole snapshot."""
    if not await _state_exists(engine):
        return None, Schema.empty(engine.engine_type)
    rows = await engine.run_ddl(f'SELECT "migration", "digest" FROM "{STATE_TABLE}"')
    if not rows:
        return None, Schema.empty(engine.engine_type)
    if target is not None and rows[0]["digest"] == target.digest():
        return rows[0]["migration"], target
    rows = await engine.run_ddl(f'SELECT "migration", "snapshot" FROM "{STATE_TABLE}"')
    return rows[0]["migration"], Schema.from_json(json.loads(rows[0]["snapshot"]))


async def applied_digest(engine: Engine[Any]) -> str | None:
    """The digest of the applied schema (None before the first migration): what a running
    server compares with its own model's (runtime/live.py), so two cheap queries."""
    if not await _state_exists(engine):
        return None
    rows = await engine.run_ddl(f'SELECT "digest" FROM "{STATE_TABLE}"')
    return str(rows[0]["digest"]) if rows else None


async def _state_exists(engine: Engine[Any]) -> bool:
    if is_postgres(engine):
        exists = await engine.run_ddl(f"SELECT to_regclass('public.{STATE_TABLE}') AS t")
        return exists[0]["t"] is not None
    exists = await engine.run_ddl(
        f"SELECT name FROM sqlite_master WHERE type = 'table' AND name = '{STATE_TABLE}'"
    )
    return bool(exists)


def _as_statements(items: Sequence[Any]) -> list[Statement]:
    return [s if isinstance(s, Statement) else Statement(*s) for s in items]


async def apply_migration(
    engine: Engine[Any], migration_id: str, statements: Sequence[Any], snapshot: dict[str, Any]
) -> None:
    """Run `statements` ((table, sql) pairs) and store `snapshot`, all or nothing."""
    items = _as_statements(statements)
    state = (migration_id, Schema.from_json(snapshot).digest(), json.dumps(snapshot))
    if is_postgres(engine):
        await _apply_postgres(engine, items, state)
    else:  # SQLite, the one other engine
        await _apply_sqlite(cast(SQLiteEngine, engine), items, state)


def _report(statement: Statement, index: int, total: int, seconds: float | None) -> None:
    report = reporter.get()
    if report is not None:
        report(statement, index, total, seconds)


async def _run_all(execute: Callable[[str], Awaitable[object]], items: list[Statement]) -> None:
    for index, statement in enumerate(items):
        _report(statement, index, len(items), None)
        started = time.perf_counter()
        try:
            await execute(statement.sql)
        except Exception as error:
            raise StatementFailed(statement, error) from error
        _report(statement, index, len(items), time.perf_counter() - started)


async def _apply_postgres(
    engine: Engine[Any], items: list[Statement], state: tuple[str, str, str]
) -> None:
    async with engine.transaction() as transaction:
        connection = transaction.connection
        await connection.execute(CREATE_STATE)
        await _run_all(connection.execute, items)
        await connection.execute(f'DELETE FROM "{STATE_TABLE}" WHERE "app" = $1', APP)
        await connection.execute(
            f'INSERT INTO "{STATE_TABLE}" ("app", "migration", "digest", "snapshot") '
            "VALUES ($1, $2, $3, $4)",
            APP,
            *state,
        )


async def _apply_sqlite(
    engine: SQLiteEngine, items: list[Statement], state: tuple[str, str, str]
) -> None:
    kwargs = {**engine.connection_kwargs, "isolation_level": None}
    async with aiosqlite.connect(**kwargs) as connection:
        await connection.execute("PRAGMA foreign_keys = OFF")  # only outside a transaction
        await connection.execute("BEGIN IMMEDIATE")
        try:
            await connection.execute(CREATE_STATE)
            await _run_all(lambda sql: _execute_sqlite(connection, sql), items)
            await _check_foreign_keys(connection, items)
            await connection.execute(f'DELETE FROM "{STATE_TABLE}" WHERE "app" = ?', (APP,))
            await connection.execute(
                f'INSERT INTO "{STATE_TABLE}" ("app", "migration", "digest", "snapshot") '
                "VALUES (?, ?, ?, ?)",
                (APP, *state),
            )
        except BaseException:
            await connection.execute("ROLLBACK")
            raise
        await connection.execute("COMMIT")


async def _execute_sqlite(connection: aiosqlite.Connection, sql: str) -> None:
    """Run one statement; a SELECT's rows are fetched, so its column converters run."""
    async with connection.execute(sql) as cursor:
        if sql.lstrip().upper().startswith("SELECT"):
            await cursor.fetchall()


async def _check_foreign_keys(connection: aiosqlite.Connection, items: list[Statement]) -> None:
    async with connection.execute("PRAGMA foreign_key_check") as cursor:
        rows = list(await cursor.fetchall())
    if rows:
        table, parent = rows[0][0], rows[0][2]
        statement = next((s for s in reversed(items) if f'"{table}"' in s.sql), items[-1])
        error = RuntimeError(
            f"{len(rows)} row(s) of {table} refer to missing {parent} rows "
            "(foreign keys checked after the migration)"
        )
        raise StatementFailed(statement, error)
