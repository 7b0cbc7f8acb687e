"""Sessions: rows of piccolo-admin's session table, so that one login serves /api, /auth and
/admin. The cookie is piccolo-admin's `id`; the CSRF token (the `csrftoken` cookie, sent back
as the `X-CSRFToken` header) is an HMAC of the session's id (`csrf_token`), so a token of one
session is refused with any other."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import uuid
from typing import TYPE_CHECKING

from runtime.identity.digests import same_secret
from runtime.identity.keys import KeyRing

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


def csrf_token(keys: KeyRing, session: str) -> str:
    """The CSRF token of the session whose cookie is `session`, under the signing secret."""
    return _mac(keys.secrets[keys.signing_kid], session)


def is_csrf_token(keys: KeyRing, session: str, token: str) -> bool:
    """Whether `token` is the session's CSRF token under any secret of the ring (a rotation
    does not end sessions)."""
    return bool(token) and any(
        same_secret(_mac(secret, session), token) for secret in keys.secrets.values()
    )


def _mac(secret: str, session: str) -> str:
    digest = hmac.new(secret.encode(), b"plinth-csrf\0" + session.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")
