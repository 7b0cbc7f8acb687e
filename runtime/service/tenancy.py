"""The second wall (PostgreSQL): row-level security keyed on a transaction-local setting.

Inside the wall a transaction runs as the `plinth_app` role (which does not bypass RLS) with
`plinth.tenant` set, so even a query that forgot the tenant filter sees only that tenant's
rows. `plinth migrate` creates the role, the grants and the policies
(`runtime/schema/security.py`). On SQLite the service's own filters are the only wall.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar
from uuid import UUID

from piccolo.engine.base import Engine

from runtime.access import Principal
from runtime.database import is_postgres, write_transaction

APP_ROLE = "plinth_app"
TENANT_SETTING = "plinth.tenant"

_walled: ContextVar[tuple[int, UUID] | None] = ContextVar("plinth_walled", default=None)


def _tenant(engine: Engine, principal: Principal | None) -> UUID | None:
    """The tenant whose wall applies; None on SQLite and on the platform's explicit
    cross-tenant path (a superuser without an active organization, or no principal)."""
    if not is_postgres(engine) or principal is None:
        return None
    return principal.tenant_id


async def _enter(engine: Engine, tenant: UUID) -> None:
    current = engine.current_transaction.get()
    await current.connection.execute(  # one round trip: tenant and role together
        "SELECT set_config($1, $2, true), set_config('role', $3, true)",
        TENANT_SETTING,
        str(tenant),
        APP_ROLE,
    )
    _walled.set((id(current), tenant))


def _is_walled(engine: Engine, tenant: UUID) -> bool:
    current = engine.current_transaction.get()
    return current is not None and _walled.get() == (id(current), tenant)


@contextlib.asynccontextmanager
async def tenant_wall(engine: Engine, principal: Principal | None) -> AsyncIterator[None]:
    """Run the block inside the wall of the principal's tenant (a transaction is opened if
    none is running)."""
    tenant = _tenant(engine, principal)
    if tenant is None or _is_walled(engine, tenant):
        yield
        return
    token = _walled.set(None)
    try:
        if engine.current_transaction.get() is not None:
            await _enter(engine, tenant)
            yield
            return
        async with engine.transaction():
            await _enter(engine, tenant)
            yield
    finally:
        _walled.reset(token)


@contextlib.asynccontextmanager
async def write_scope(engine: Engine, principal: Principal | None) -> AsyncIterator[None]:
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
