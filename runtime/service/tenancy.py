"""The second wall (PostgreSQL): row-level security keyed on a transaction-local setting.

`tenant_wall` runs its block in a transaction that switches to the `plinth_app` role (which
does not bypass RLS) and sets `plinth.tenant`, so even a query that forgot the tenant filter
sees only that tenant's rows. `plinth migrate` creates the role, the grants and the policies
(`runtime/schema/security.py`). On SQLite it does nothing: the service's filters are the wall.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar
from uuid import UUID

from piccolo.engine.base import Engine

from runtime.access import Principal
from runtime.database import is_postgres

APP_ROLE = "plinth_app"
TENANT_SETTING = "plinth.tenant"

_walled: ContextVar[tuple[int, UUID] | None] = ContextVar("plinth_walled", default=None)


@contextlib.asynccontextmanager
async def tenant_wall(engine: Engine, principal: Principal | None) -> AsyncIterator[None]:
    """Run the block inside the RLS wall of the principal's tenant (PostgreSQL only).

    The platform's cross-tenant path is explicit: a superuser without an active organization
    (or no principal at all) runs without the wall."""
    tenant = principal.tenant_id if principal is not None else None
    if not is_postgres(engine) or tenant is None:
        yield
        return
    current = engine.current_transaction.get()
    if current is not None and _walled.get() == (id(current), tenant):
        yield
        return
    async with contextlib.AsyncExitStack() as stack:
        if current is None:
            await stack.enter_async_context(engine.transaction())
            current = engine.current_transaction.get()
        connection = current.connection  # asyncpg: one statement per call
        await connection.execute("SELECT set_config($1, $2, true)", TENANT_SETTING, str(tenant))
        await connection.execute(f"SET LOCAL ROLE {APP_ROLE}")
        token = _walled.set((id(current), tenant))
        try:
            yield
        finally:
            _walled.reset(token)
