"""Piccolo engines from `PLINTH_DATABASE_URL`, and the transaction shapes Plinth uses."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeAlias, TypeGuard

import asyncpg
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from runtime.filters.text import fold
from runtime.settings import sqlite_path

APP_ROLE = "plinth_app"  # the role the tenant wall runs as (created by `plinth migrate`)
POOL_SIZE = 20  # the default of PLINTH_DB_POOL_SIZE


SQLiteValue: TypeAlias = str | bytes | int | float | None


def _fold(value: SQLiteValue) -> SQLiteValue:
    return fold(value) if isinstance(value, str) else value


class PlinthSQLiteConnection(sqlite3.Connection):
    """Every SQLite connection gets the functions Plinth's SQL uses (`plinth_fold`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.create_function("plinth_fold", 1, _fold, deterministic=True)


async def keep_session(connection: asyncpg.Connection) -> None:
    """Pool reset: nothing beyond asyncpg's own rollback of an open transaction. Plinth keeps
    no session state on a pooled connection that a later user could trip on (the wall's
    settings are transaction-local; no LISTEN, advisory lock or cursor outlives a
    transaction), so asyncpg's default reset query would cost a round trip per use."""


class PlinthPostgresEngine(PostgresEngine):
    """Piccolo's engine plus, while its pool runs, a second pool whose connections run as
    `APP_ROLE` (`SET ROLE` once per connection): the tenant wall's transactions and
    single-statement writes use it (runtime/service/tenancy.py), platform work the first."""

    def __init__(self, config: dict[str, Any], pool_size: int = POOL_SIZE, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)  # (connects nowhere: check_version below)
        self.pool_size = pool_size
        self.app_pool: asyncpg.Pool | None = None
        self._app_pool_lock = asyncio.Lock()

    async def check_version(self) -> None:
        """Piccolo's asks the server for its version as the engine is made: a connection when
        a module is imported, and a warning in front of a command's own error when the server
        is down. Plinth connects when a command opens the database (`open_engine`)."""
        return None

    async def role_pool(self) -> asyncpg.Pool | None:
        """The `APP_ROLE` pool, opened on first use; None while the main pool is not running
        (one-off commands: their wall switches role inside each transaction instead)."""
        if self.pool is None:
            return None
        if self.app_pool is None:
            async with self._app_pool_lock:
                if self.app_pool is None:
                    self.app_pool = await asyncpg.create_pool(
                        **self.config,
                        min_size=1,
                        max_size=self.pool_size,
                        init=_as_app_role,
                        reset=keep_session,
                    )
        return self.app_pool

    async def close_connection_pool(self) -> None:
        if self.app_pool is not None:
            await self.app_pool.close()
            self.app_pool = None
        await super().close_connection_pool()


async def _as_app_role(connection: asyncpg.Connection) -> None:
    await connection.execute(f"SET ROLE {APP_ROLE}")


def engine_from_url(url: str, pool_size: int = POOL_SIZE) -> Engine[Any]:
    """`sqlite:///file.db` → SQLiteEngine (30 s busy timeout); `postgres://…` → PostgresEngine
    whose two pools hold up to `pool_size` connections each."""
    if url.startswith("sqlite"):
        return SQLiteEngine(path=sqlite_path(url), timeout=30, factory=PlinthSQLiteConnection)
    return PlinthPostgresEngine(config={"dsn": url}, pool_size=pool_size)


def is_postgres(engine: Engine[Any]) -> TypeGuard[PostgresEngine]:
    return engine.engine_type == "postgres"


@contextlib.asynccontextmanager
async def write_transaction(engine: Engine[Any]) -> AsyncIterator[None]:
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


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or opened; the message says which and why."""


async def open_engine(engine: Engine[Any]) -> None:
    """Start-up: a pool on PostgreSQL, WAL mode on SQLite. A database that cannot be reached
    (refused, unknown host, wrong password, no such database or file) is DatabaseUnavailable."""
    try:
        if is_postgres(engine):
            size = getattr(engine, "pool_size", POOL_SIZE)
            await engine.start_connection_pool(min_size=1, max_size=size, reset=keep_session)
        else:
            folder = Path(getattr(engine, "path", "")).absolute().parent
            if not folder.is_dir():  # before aiosqlite's thread, which would outlive the loop
                raise sqlite3.OperationalError(f"the folder {folder} does not exist")
            await engine.run_ddl("PRAGMA journal_mode=WAL")
    except (TimeoutError, OSError, asyncpg.PostgresError, sqlite3.Error) as error:
        where = _where(engine)
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DatabaseUnavailable(f"cannot open the database {where}: {reason}") from None


def _where(engine: Engine[Any]) -> str:
    """The database as a person names it, without a password."""
    if not is_postgres(engine):
        return str(getattr(engine, "path", "")) or "(SQLite)"
    dsn = str(engine.config.get("dsn", ""))
    scheme, _, rest = dsn.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}" if rest else dsn


async def close_engine(engine: Engine[Any]) -> None:
    if is_postgres(engine):
        await engine.close_connection_pool()
