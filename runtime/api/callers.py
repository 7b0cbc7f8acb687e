"""Who is calling: the Principal of an /api or /auth request, from (in this order)

- `Authorization: Bearer plt_…` — an API token (its organization only);
- `Authorization: Bearer <JWT>` — a Plinth access token, or one from the OIDC issuer;
- the session cookie `id` (from POST /auth/login or the admin's login), where unsafe methods
  also need the `X-CSRFToken` header set to that session's CSRF token (`check_csrf`).

The active organization is the `X-Organization` header (slug or id), else the token's, else
the session's `plinth_org` cookie, else the user's first membership. It must be one of the
user's memberships: otherwise 403, with the same words whether or not it exists."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection

from runtime.access import Principal
from runtime.access.resolve import principal_for
from runtime.api.problems import Problem
from runtime.identity import accounts, api_tokens, refresh, sessions, tokens
from runtime.identity.cache import CallerCache
from runtime.identity.digests import token_digest
from runtime.identity.oidc import OidcError

log = logging.getLogger("plinth.auth")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BEARER = {"WWW-Authenticate": "Bearer"}
NOT_MEMBER = "you are not a member of that organization"


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    via: str  # "session" | "jwt" | "api_token" | "oidc"
    family_id: uuid.UUID | None = None  # jwt: the login (refresh-token family)
    session: str | None = None  # session: the cookie value
    token_id: uuid.UUID | None = None  # api_token
    token_name: str | None = None


def unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, BEARER)


def client_ip(conn: HTTPConnection) -> str:
    """The client address as uvicorn reports it: X-Forwarded-For counts only from the
    proxies in PLINTH_TRUSTED_PROXIES (by default none; see `plinth serve`)."""
    return conn.client.host if conn.client else "unknown"


def requested_org(conn: HTTPConnection) -> str | None:
    return conn.headers.get("x-organization") or None


async def principal_in(
    conn: HTTPConnection, user_id: uuid.UUID, org: str | uuid.UUID | None
) -> Principal:
    """The user's Principal in `org`: 401 for an unknown or inactive user, 403 for an
    organization that is not one of theirs (or does not exist: the caller cannot tell)."""
    plinth = conn.app.state.plinth
    cache: CallerCache = plinth.callers
    key = ("principal", user_id, None if org is None else str(org))
    cached: Principal | None = cache.get(key)
    if cached is not None:
        return cached
    registry = plinth.registry
    seen = cache.generation()
    principal = await principal_for(registry, user_id, org)
    if principal is not None:
        cache.put_if_unchanged(key, principal, seen)
        return principal
    if not await accounts.is_active_user(registry, user_id):
        raise unauthorized("this account is not active")
    raise Problem(403, "Forbidden", NOT_MEMBER)


async def request_caller(conn: HTTPConnection) -> Caller:
    """The authenticated caller of a request, or a 401/403 problem."""
    header = conn.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("send Authorization: Bearer <token>")
        return await _bearer(conn, token.strip())
    cookie = conn.cookies.get(sessions.SESSION_COOKIE)
    if cookie:
        return await _session(conn, cookie)
    raise unauthorized("send Authorization: Bearer <token>, or log in with POST /auth/login")


async def request_principal(conn: HTTPConnection) -> Principal:
    return (await request_caller(conn)).principal


async def _bearer(conn: HTTPConnection, token: str) -> Caller:
    plinth = conn.app.state.plinth
    if api_tokens.is_api_token(token):
        return await _api_token(conn, token)
    if tokens.is_plinth_token(token):
        claims = tokens.read_access_token(plinth.keys, token)
        if claims is None:
            raise unauthorized("the token is invalid or expired")
        if not await _login_active(plinth, claims.family_id):
            raise unauthorized("this login has ended (logout, expiry or a reused refresh token)")
        org = requested_org(conn) or claims.org_id
        principal = await principal_in(conn, claims.user_id, org)
        return Caller(principal, "jwt", family_id=claims.family_id)
    if plinth.oidc is not None:
        return await _oidc(conn, token)
    raise unauthorized("the token is invalid or expired")


async def _login_active(plinth: Any, family_id: uuid.UUID) -> bool:
    """Whether the login (refresh family) of an access token still runs: cached until it
    expires or something in identity changes (runtime/identity/cache.py)."""
    cache: CallerCache = plinth.callers
    key = ("login", family_id)
    if cache.get(key) is not None:
        return True
    seen = cache.generation()
    until = await refresh.active_until(plinth.registry, family_id)
    if until is None:
        return False
    left = (until - dt.datetime.now(dt.UTC)).total_seconds()
    cache.put_if_unchanged(key, True, seen, ttl=left)
    return True


async def _token_owner(plinth: Any, token: str) -> api_tokens.TokenOwner | None:
    """The owner of an unrevoked API token: cached by digest (never the token itself); a
    cached use is noted for the next batch of `last_used_at` writes."""
    cache: CallerCache = plinth.callers
    key = ("api_token", token_digest(token))
    owner: api_tokens.TokenOwner | None = cache.get(key)
    if owner is not None:
        cache.note_used(owner.token_id)
        return owner
    seen = cache.generation()
    owner = await api_tokens.token_owner(plinth.registry, token)
    if owner is not None:
        cache.put_if_unchanged(key, owner, seen)
    return owner


async def _api_token(conn: HTTPConnection, token: str) -> Caller:
    owner = await _token_owner(conn.app.state.plinth, token)
    if owner is None:
        raise unauthorized("the API token is invalid or revoked")
    principal = await principal_in(conn, owner.user_id, requested_org(conn) or owner.org_id)
    if principal.tenant_id != owner.org_id:
        raise Problem(403, "Forbidden", NOT_MEMBER)
    actor = f"token:{owner.name} ({principal.email})"
    return Caller(
        dataclasses.replace(principal, actor=actor),
        "api_token",
        token_id=owner.token_id,
        token_name=owner.name,
    )


async def _oidc(conn: HTTPConnection, token: str) -> Caller:
    plinth = conn.app.state.plinth
    try:
        claims = await plinth.oidc.verify(token)
    except OidcError as error:
        log.info("refused an OIDC token: %s", error)
        raise unauthorized("the token is invalid or expired") from None
    user_id = await _oidc_user(conn, claims)
    if user_id is None:
        raise unauthorized("the token does not belong to an active user here")
    principal = await principal_in(conn, user_id, requested_org(conn))
    return Caller(principal, "oidc")


async def _oidc_user(conn: HTTPConnection, claims: dict[str, Any]) -> uuid.UUID | None:
    """The user an OIDC token maps to: its verified `email`, else a `sub` that is an email."""
    email = claims.get("email") if claims.get("email_verified", True) is not False else None
    for candidate in (email, claims.get("sub")):
        if isinstance(candidate, str) and "@" in candidate:
            try:
                row = await accounts.find_user(conn.app.state.plinth.registry, candidate)
            except accounts.AccountError:
                continue
            return row["id"] if row["active"] else None
    return None


async def _session(conn: HTTPConnection, cookie: str) -> Caller:
    registry = conn.app.state.plinth.registry
    user_id = await sessions.session_user(registry, cookie)
    if user_id is None:
        raise unauthorized("the session has ended: log in again")
    if conn.scope.get("method", "GET") not in SAFE_METHODS:
        check_csrf(conn)
    org = requested_org(conn) or conn.cookies.get(sessions.ORG_COOKIE)
    principal = await principal_in(conn, user_id, org)
    return Caller(principal, "session", session=cookie)


def check_csrf(conn: HTTPConnection) -> None:
    """The X-CSRFToken header must be the CSRF token of the request's session (an HMAC of
    the session cookie, `sessions.csrf_token`): 403 if not, so a cookie/header pair taken
    from another session is refused too."""
    session = conn.cookies.get(sessions.SESSION_COOKIE) or ""
    header = conn.headers.get(sessions.CSRF_HEADER) or ""
    if not sessions.is_csrf_token(conn.app.state.plinth.keys, session, header):
        raise Problem(
            403,
            "Forbidden",
            "CSRF check failed: with a session cookie, unsafe requests need the header "
            "X-CSRFToken set to this session's CSRF token (the csrftoken cookie, or "
            "csrf_token from POST /auth/login)",
        )
