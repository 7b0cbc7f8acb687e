"""Sessions: rows of piccolo-admin's session table, so that one login serves /api, /auth and
/admin. The cookie is piccolo-admin's `id`; the CSRF token is the double-submit cookie
`csrftoken` that piccolo-admin checks against the `X-CSRFToken` header."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the tables are built by runtime/schema, which builds on identity
    from runtime.schema.registry import Registry

SESSION_COOKIE = "id"  # piccolo-admin's name (SessionsAuthBackend's default)
CSRF_COOKIE = "csrftoken"  # piccolo-api's CSRFMiddleware
CSRF_HEADER = "x-csrftoken"
ORG_COOKIE = "plinth_org"  # the organization the session works in


async def create_session(registry: Registry, user_id: uuid.UUID, *, ttl_seconds: int) -> str:
    """A new session for the user, valid `ttl_seconds`; returns its token (the cookie value).

    piccolo-api keeps session times as naive local time: so do we."""
    until = dt.datetime.now() + dt.timedelta(seconds=ttl_seconds)
    session = await registry.session.create_session(
        user_id=user_id, expiry_date=until, max_expiry_date=until
    )
    return str(session.token)


async def session_user(registry: Registry, token: str) -> uuid.UUID | None:
    """The user of an unexpired session, else None."""
    user_id: uuid.UUID | None = await registry.session.get_user_id(token)
    return user_id


async def end_session(registry: Registry, token: str) -> None:
    await registry.session.remove_session(token)


async def end_other_sessions(registry: Registry, user_id: uuid.UUID, *, keep: str | None) -> None:
    """Ends every session of the user but `keep` (the caller's own, if any)."""
    table = registry.session
    query = table.delete().where(table.user_id == user_id)
    if keep:
        query = query.where(table.token != keep)
    await query.run()


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)
