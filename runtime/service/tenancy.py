"""The second wall (PostgreSQL): row-level security keyed on a transaction-local setting.

Inside the wall a transaction runs as the `plinth_app` role (which does not bypass RLS) with
`plinth.tenant` set, so even a query that forgot the tenant filter sees only that tenant's
rows. `plinth migrate` creates the role, the grants and the policies
(`runtime/schema/security.py`). Walled transactions run on the engine's `plinth_app` pool
(`runtime/database.py`) and still switch the role themselves, so a connection of the
platform's pool (a caller's transaction, a one-off command) is walled the same way. On SQLite
the service's own filters are the only wall.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from contextvars import ContextVar
from types import TracebackType
from typing import Any, cast
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.query import Select

from runtime.access import Principal
from runtime.database import APP_ROLE, PlinthPostgresEngine, is_postgres, write_transaction

TENANT_SETTING = "plinth.tenant"

_walled: ContextVar[tuple[int, UUID] | None] = ContextVar("plinth_walled", default=None)


def _tenant(engine: Engine[Any], principal: Principal | None) -> UUID | None:
    """The tenant whose wall applies; None on SQLite and on the platform's explicit
    cross-tenant path (a superuser without an active organization, or no principal)."""
    if not is_postgres(engine) or principal is None:
        return None
    return principal.tenant_id


def _wall_sql(tenant: UUID) -> str:
    # inlined, not bound: a UUID's text is safe, and a parameterless query may carry several
    # statements in one round trip
    return (
        f"SELECT set_config('{TENANT_SETTING}', '{UUID(str(tenant))}', true), "
        f"set_config('role', '{APP_ROLE}', true)"
    )


class WalledTransaction(PostgresTransaction):
    """A Piccolo transaction inside the wall: on a connection of the `APP_ROLE` pool when the
    engine runs one, and BEGIN with both settings in ONE round trip (asyncpg's own
    transaction object would take two)."""

    def __init__(self, engine: PostgresEngine, tenant: UUID) -> None:
        super().__init__(engine)
        self._begin_sql = f"BEGIN; {_wall_sql(tenant)}"
        self._pool: asyncpg.Pool | None = None

    async def get_connection(self) -> asyncpg.Connection | PoolConnectionProxy:
        if isinstance(self.engine, PlinthPostgresEngine):
            self._pool = await self.engine.role_pool()
        if self._pool is None:
            return await self.engine.get_new_connection()
        return await self._pool.acquire()

    async def begin(self) -> None:
        try:
            await self.connection.execute(self._begin_sql)
        except BaseException:  # __aexit__ will not run: give the connection back here
            await self._release()
            raise

    async def commit(self) -> None:
        await self.connection.execute("COMMIT")
        self._committed = True

    async def rollback(self) -> None:
        await self.connection.execute("ROLLBACK")
        self._rolled_back = True

    async def __aexit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        try:
            if exception is not None:
                if not self._rolled_back:
                    await self.rollback()
            elif not (self._committed or self._rolled_back):
                await self.commit()
        finally:
            await self._release()
            self.engine.current_transaction.reset(self.context)
        return exception is None

    async def _release(self) -> None:
        if self._pool is None:
            await self.connection.close()
        else:
            await self._pool.release(self.connection)


async def _enter(current: PostgresTransaction, tenant: UUID) -> None:
    await current.connection.execute(_wall_sql(tenant))  # one round trip: tenant and role
    _walled.set((id(current), tenant))


def _is_walled(engine: Engine[Any], tenant: UUID) -> bool:
    current = engine.current_transaction.get()
    return current is not None and _walled.get() == (id(current), tenant)


@contextlib.asynccontextmanager
async def tenant_wall(engine: Engine[Any], principal: Principal | None) -> AsyncIterator[None]:
    """Run the block inside the wall of the principal's tenant (a transaction is opened if
    none is running)."""
    tenant = _tenant(engine, principal)
    if tenant is None or _is_walled(engine, tenant):
        yield
        return
    token = _walled.set(None)
    try:
        current = engine.current_transaction.get()
        if current is not None:
            await _enter(current, tenant)
            yield
            return
        # a tenant is only found on PostgreSQL (`_tenant`)
        async with WalledTransaction(cast(PostgresEngine, engine), tenant) as transaction:
            _walled.set((id(transaction), tenant))
            yield
    finally:
        _walled.reset(token)


async def single_statement_tenant(engine: Engine[Any], principal: Principal) -> UUID | None:
    """The tenant for a write that may go as ONE autocommit statement on the `APP_ROLE` pool
    (`_rows.insert_at_once`); None when the write needs a transaction: SQLite, no wall, a
    caller's transaction running, or no pool."""
    tenant = _tenant(engine, principal)
    if tenant is None or engine.current_transaction.get() is not None:
        return None
    if not isinstance(engine, PlinthPostgresEngine) or await engine.role_pool() is None:
        return None
    return tenant


async def select_at_once(
    engine: PlinthPostgresEngine, tenant: UUID, query: Select[Any]
) -> list[dict[str, Any]] | None:
    """The rows of a plain SELECT run as ONE autocommit statement inside the wall, on a
    connection of the `APP_ROLE` pool (`single_statement_tenant` says when one may); None
    for a query Piccolo runs as several statements."""
    strings = query.querystrings
    if len(strings) != 1:
        return None
    sql, args = strings[0].compile_string(engine_type="postgres")
    return await fetch_at_once(engine, tenant, sql, args)


async def fetch_at_once(
    engine: PlinthPostgresEngine, tenant: UUID, sql: str, args: list[Any]
) -> list[dict[str, Any]]:
    """The rows of the compiled SELECT `sql` as ONE autocommit statement inside the wall.
    asyncpg prepares each shape once per connection (its statement cache keys on the SQL,
    and the SQL of a shape does not vary)."""
    if engine.log_queries:  # as Piccolo logs the queries it runs itself
        engine.print_query(query_id=engine.get_query_id(), query=f"{sql} {args}")
    pool = await engine.role_pool()
    assert pool is not None, "fetch_at_once needs the engine's pool running"
    async with pool.acquire() as connection:
        rows = await connection.fetch(_walled_select(sql, len(args) + 1), *args, str(tenant))
    return [dict(row) for row in rows]


@functools.lru_cache(maxsize=1024)
def _walled_select(sql: str, tenant_param: int) -> str:
    """`sql` behind the setting of the tenant: the setting is the outer side of a LATERAL
    join the statement depends on (OFFSET 0 keeps the planner from flattening it), so the
    executor makes it before it starts the scans whose row-level policies read it."""
    return (
        f"SELECT _rows.* FROM (SELECT set_config('{TENANT_SETTING}', ${tenant_param}, true) "
        f"AS _tenant) AS _wall, LATERAL (SELECT * FROM ({sql}) AS _q "
        "WHERE _wall._tenant IS NOT NULL OFFSET 0) AS _rows"
    )


@contextlib.asynccontextmanager
async def write_scope(engine: Engine[Any], principal: Principal | None) -> AsyncIterator[None]:
    """One write's transaction, inside the wall. A write that opens its own transaction on
    PostgreSQL enters the wall at once (no savepoint needed); otherwise `write_transaction`
    gives an IMMEDIATE transaction (SQLite) or a savepoint in the caller's transaction."""
    tenant = _tenant(engine, principal)
    if tenant is not None and engine.current_transaction.get() is None:
        async with tenant_wall(engine, principal):
            yield
        return
    async with tenant_wall(engine, principal), write_transaction(engine):
        yield
