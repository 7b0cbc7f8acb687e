"""/auth routes: log in (session cookie or tokens), refresh, log out, and who am I.

See docs/guides/auth.md for the contract as app developers use it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runtime.access import Principal
from runtime.access.summary import describe_permissions
from runtime.api.callers import (
    check_csrf,
    client_ip,
    principal_in,
    request_caller,
    requested_org,
    unauthorized,
)
from runtime.api.payloads import read_json
from runtime.api.problems import Problem
from runtime.identity import accounts, refresh, sessions, tokens, totp
from runtime.identity.passwords import HashingBusy
from runtime.identity.throttle import Throttled

MFA_REQUIRED = "two-factor login is on: send 'mfa_code' (the app's code or a recovery code)"


async def _password_login(request: Request, body: dict[str, Any]) -> Principal:
    """Check email and password, and `mfa_code` when the user turned two-factor login on,
    behind the login gate (runtime/identity/throttle.py): the Principal in the organization
    asked for (`X-Organization` or `organization`), else the first one."""
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str):
        raise Problem(400, "Bad request", "send a JSON object with 'email' and 'password'")
    plinth = request.app.state.plinth
    try:
        async with plinth.throttle.attempt(email, client_ip(request)) as attempt:
            user = await accounts.authenticate(plinth.registry, email, password)
            if user is None:
                raise unauthorized("wrong email or password")
            if await totp.is_enrolled(plinth.registry, user["id"]):
                code = body.get("mfa_code")
                if not isinstance(code, str) or not code:
                    attempt.succeeded()  # the password was right
                    raise unauthorized(MFA_REQUIRED)
                if not await totp.verify(plinth.registry, user["id"], code):
                    raise unauthorized("wrong mfa_code")
            attempt.succeeded()
    except Throttled as refused:
        raise Problem(429, "Too many requests", str(refused), retry_after(refused.wait)) from None
    except HashingBusy as busy:
        raise Problem(503, "Service unavailable", str(busy), retry_after(busy.wait)) from None
    org = requested_org(request) or body.get("organization")
    if org is not None and not isinstance(org, str):
        raise Problem(400, "Bad request", "'organization' must be an organization slug")
    return await principal_in(request, user["id"], org)


def retry_after(seconds: int) -> dict[str, str]:
    return {"Retry-After": str(seconds)}


async def login(request: Request) -> Response:
    """POST /auth/login {email, password[, mfa_code]}: a session cookie (HttpOnly,
    SameSite=Lax) and the CSRF token that unsafe requests with it must send as X-CSRFToken."""
    principal = await _password_login(request, await read_json(request))
    plinth = request.app.state.plinth
    ttl = plinth.registry.project.platform.session_ttl_seconds
    previous = request.cookies.get(sessions.SESSION_COOKIE)
    if previous:
        await sessions.end_session(plinth.registry, previous)
    assert principal.user_id is not None
    token = await sessions.create_session(plinth.registry, principal.user_id, ttl_seconds=ttl)
    csrf = sessions.new_csrf_token()
    response = JSONResponse(
        {
            "user": {"id": str(principal.user_id), "email": principal.email},
            "organization": principal.tenant_slug,
            "csrf_token": csrf,
            "expires_in": ttl,
        }
    )
    secure = plinth.settings.secure_cookies
    cookie = {"max_age": ttl, "path": "/", "secure": secure, "samesite": "lax"}
    response.set_cookie(sessions.SESSION_COOKIE, token, httponly=True, **cookie)
    response.set_cookie(sessions.CSRF_COOKIE, csrf, httponly=False, **cookie)
    if principal.tenant_slug:
        response.set_cookie(sessions.ORG_COOKIE, principal.tenant_slug, httponly=True, **cookie)
    else:
        response.delete_cookie(sessions.ORG_COOKIE, path="/")
    return response


async def _token_response(
    request: Request, principal: Principal, fresh: refresh.Refreshed
) -> JSONResponse:
    plinth = request.app.state.plinth
    ttl = plinth.registry.project.platform.access_token_ttl_seconds
    assert principal.user_id is not None
    access = tokens.issue_access_token(
        plinth.keys,
        user_id=principal.user_id,
        org_id=principal.tenant_id,
        family_id=fresh.family_id,
        ttl_seconds=ttl,
    )
    return JSONResponse(
        {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": ttl,
            "refresh_token": fresh.token,
            "organization": principal.tenant_slug,
        },
        headers={"Cache-Control": "no-store"},
    )


async def issue_token(request: Request) -> Response:
    """POST /auth/token {email, password[, mfa_code]} (+ X-Organization: SLUG) → an access JWT and a
    refresh token (a new login: a new refresh-token family)."""
    principal = await _password_login(request, await read_json(request))
    plinth = request.app.state.plinth
    assert principal.user_id is not None
    fresh = await refresh.issue(
        plinth.registry,
        user_id=principal.user_id,
        org_id=principal.tenant_id,
        ttl_seconds=plinth.registry.project.platform.session_ttl_seconds,
    )
    return await _token_response(request, principal, fresh)


async def refresh_token(request: Request) -> Response:
    """POST /auth/token/refresh {refresh_token} → a new access JWT and a new refresh token;
    the one sent is used up (sending it again revokes the whole login)."""
    raw = (await read_json(request)).get("refresh_token")
    if not isinstance(raw, str) or not raw:
        raise Problem(400, "Bad request", "send a JSON object with 'refresh_token'")
    registry = request.app.state.plinth.registry
    fresh = await refresh.rotate(registry, raw)
    if fresh is None:
        raise unauthorized("the refresh token is invalid, expired or already used: log in again")
    try:
        principal = await principal_in(request, fresh.user_id, fresh.org_id)
    except Problem:
        await refresh.revoke_family(registry, fresh.family_id)
        raise
    return await _token_response(request, principal, fresh)


async def logout(request: Request) -> Response:
    """POST /auth/logout: ends, server-side, the session (cookie, with the CSRF header), the
    login of a Plinth access token (bearer), or the login of a refresh token (body). 204."""
    registry = request.app.state.plinth.registry
    body = await read_json(request) if await request.body() else {}
    raw = body.get("refresh_token")
    if isinstance(raw, str) and raw:
        family = await refresh.family_of(registry, raw)
        if family is None:
            raise unauthorized("the refresh token is invalid")
        await refresh.revoke_family(registry, family)
        return Response(status_code=204)
    cookie = request.cookies.get(sessions.SESSION_COOKIE)
    if cookie and request.headers.get("authorization") is None:
        if await sessions.session_user(registry, cookie) is None:
            raise unauthorized("the session has already ended")
        check_csrf(request)
        await sessions.end_session(registry, cookie)
        response = Response(status_code=204)
        for name in (sessions.SESSION_COOKIE, sessions.CSRF_COOKIE, sessions.ORG_COOKIE):
            response.delete_cookie(name, path="/")
        return response
    caller = await request_caller(request)
    if caller.via != "jwt" or caller.family_id is None:
        raise Problem(
            400,
            "Bad request",
            "nothing to log out: revoke API tokens with `plinth token revoke ID`; "
            "OIDC logins end at their issuer",
        )
    await refresh.revoke_family(registry, caller.family_id)
    return Response(status_code=204)


async def me(request: Request) -> Response:
    """GET /auth/me: the user, their memberships, the active organization and what they may
    do in it, entity by entity."""
    caller = await request_caller(request)
    principal = caller.principal
    registry = request.app.state.plinth.registry
    assert principal.user_id is not None
    memberships = await accounts.memberships(registry, principal.user_id)
    active = next((m for m in memberships if m["organization_id"] == principal.tenant_id), None)
    body: dict[str, Any] = {
        "user": {
            "id": str(principal.user_id),
            "email": principal.email,
            "superuser": principal.is_superuser,
        },
        "auth": caller.via,
        "actor": principal.actor,
        "memberships": [
            {"organization": m["slug"], "name": m["name"], "roles": sorted(m["roles"])}
            for m in memberships
        ],
        "organization": (
            {"id": str(active["organization_id"]), "slug": active["slug"], "name": active["name"]}
            if active
            else None
        ),
        "roles": sorted(principal.roles),
        "permissions": describe_permissions(registry.project, principal),
    }
    if caller.via == "api_token":
        body["token"] = {"id": str(caller.token_id), "name": caller.token_name}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


routes = [
    Route("/auth/login", login, methods=["POST"]),
    Route("/auth/logout", logout, methods=["POST"]),
    Route("/auth/token", issue_token, methods=["POST"]),
    Route("/auth/token/refresh", refresh_token, methods=["POST"]),
    Route("/auth/me", me, methods=["GET"]),
]
