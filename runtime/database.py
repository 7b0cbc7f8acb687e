"""Piccolo engines from `PLINTH_DATABASE_URL`, and the transaction shapes Plinth uses."""

from __future__ import annotations

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from runtime.settings import sqlite_path


def engine_from_url(url: str) -> Engine:
    """`sqlite:///file.db` → SQLiteEngine (30 s busy timeout); `postgres://…` → PostgresEngine."""
    if url.startswith("sqlite"):
        return SQLiteEngine(path=sqlite_path(url), timeout=30)
    return PostgresEngine(config={"dsn": url})


def is_postgres(engine: Engine) -> bool:
    return engine.engine_type == "postgres"


def write_transaction(engine: Engine):
    """A transaction for writes: IMMEDIATE on SQLite, so concurrent writers queue instead of
    failing with "database is locked" (see STACK-NOTES)."""
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def open_engine(engine: Engine) -> None:
    """Start-up: a pool on PostgreSQL, WAL mode on SQLite."""
    if is_postgres(engine):
        await engine.start_connection_pool(min_size=1, max_size=20)
    else:
        await engine.run_ddl("PRAGMA journal_mode=WAL")


async def close_engine(engine: Engine) -> None:
    if is_postgres(engine):
        await engine.close_connection_pool()
