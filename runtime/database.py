"""Piccolo engines from `PLINTH_DATABASE_URL`, and the transaction shapes Plinth uses."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from runtime.filters.text import fold
from runtime.settings import sqlite_path


def _fold(value: object) -> object:
    return fold(value) if isinstance(value, str) else value


class PlinthSQLiteConnection(sqlite3.Connection):
    """Every SQLite connection gets the functions Plinth's SQL uses (`plinth_fold`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.create_function("plinth_fold", 1, _fold, deterministic=True)


def engine_from_url(url: str) -> Engine:
    """`sqlite:///file.db` → SQLiteEngine (30 s busy timeout); `postgres://…` → PostgresEngine."""
    if url.startswith("sqlite"):
        return SQLiteEngine(path=sqlite_path(url), timeout=30, factory=PlinthSQLiteConnection)
    return PostgresEngine(config={"dsn": url})


def is_postgres(engine: Engine) -> bool:
    return engine.engine_type == "postgres"


@contextlib.asynccontextmanager
async def write_transaction(engine: Engine) -> AsyncIterator[None]:
    """A transaction for writes, or a savepoint inside the caller's transaction (so a failed
    write never leaves half of itself in a request's transaction). SQLite transactions are
    IMMEDIATE, so concurrent writers queue instead of failing with "database is locked"."""
    current = engine.current_transaction.get()
    if current is not None:
        savepoint = await current.savepoint()
        try:
            yield
        except BaseException:
            await savepoint.rollback_to()
            raise
        await savepoint.release()
        return
    if isinstance(engine, SQLiteEngine):
        async with engine.transaction(transaction_type=TransactionType.immediate):
            yield
    else:
        async with engine.transaction():
            yield


async def open_engine(engine: Engine) -> None:
    """Start-up: a pool on PostgreSQL, WAL mode on SQLite."""
    if is_postgres(engine):
        await engine.start_connection_pool(min_size=1, max_size=20)
    else:
        await engine.run_ddl("PRAGMA journal_mode=WAL")


async def close_engine(engine: Engine) -> None:
    if is_postgres(engine):
        await engine.close_connection_pool()
