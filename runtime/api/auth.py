"""/auth routes, and resolving the Principal of an API request."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse

from runtime.access import Principal
from runtime.api.problems import Problem
from runtime.identity import accounts, tokens

UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


async def read_json(request: Request) -> dict:
    try:
        body = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Problem(400, "Bad request", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Problem(400, "Bad request", "the body must be a JSON object")
    return body


async def issue_token(request: Request) -> JSONResponse:
    """POST /auth/token {email, password} (+ X-Organization: SLUG) → a bearer access token."""
    body = await read_json(request)
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str):
        raise Problem(400, "Bad request", "send a JSON object with 'email' and 'password'")
    plinth = request.app.state.plinth
    user = await accounts.authenticate(plinth.registry, email, password)
    if user is None:
        raise Problem(401, "Unauthorized", "wrong email or password", UNAUTHORIZED)
    org = request.headers.get("x-organization")
    principal = await accounts.principal_for(plinth.registry, user["id"], org)
    if principal is None:
        raise Problem(403, "Forbidden", "you are not a member of that organization")
    token = tokens.issue_access_token(
        plinth.settings.secret_key,
        user_id=user["id"],
        org_id=principal.tenant_id,
        ttl_seconds=plinth.registry.project.platform.access_token_ttl_seconds,
    )
    return JSONResponse({"access_token": token, "token_type": "bearer"})


async def request_principal(request: Request) -> Principal:
    """The caller of an /api request: a bearer token, and X-Organization to switch tenant."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "Unauthorized", "send Authorization: Bearer <token>", UNAUTHORIZED)
    plinth = request.app.state.plinth
    claims = tokens.read_access_token(plinth.settings.secret_key, token.strip())
    if claims is None:
        raise Problem(401, "Unauthorized", "the token is invalid or expired", UNAUTHORIZED)
    user_id, org_id = claims
    org = request.headers.get("x-organization") or org_id
    principal = await accounts.principal_for(plinth.registry, user_id, org)
    if principal is None:
        raise Problem(403, "Forbidden", "you are not a member of that organization")
    return principal
