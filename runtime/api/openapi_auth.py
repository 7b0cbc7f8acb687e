"""The /auth operations of the OpenAPI document (runtime/api/auth.py; docs/guides/auth.md):
log in for tokens or a session, refresh, log out, and who am I."""

from __future__ import annotations

from typing import Any

from runtime.api.openapi_common import json_body, json_response, organization, problems

_TEXT, _NULLABLE = {"type": "string"}, {"type": ["string", "null"]}
CREDENTIALS = {
    "type": "object",
    "required": ["email", "password"],
    "properties": {
        "email": _TEXT,
        "password": _TEXT,
        "mfa_code": {"type": "string", "description": "when two-factor login is on"},
        "organization": {"type": "string", "description": "an organization's slug"},
    },
}
TOKENS = {
    "type": "object",
    "properties": {
        "access_token": _TEXT,
        "token_type": {"enum": ["bearer"]},
        "expires_in": {"type": "integer"},
        "refresh_token": _TEXT,
        "organization": _NULLABLE,
    },
}
SESSION = {
    "type": "object",
    "properties": {
        "user": {"type": "object", "properties": {"id": _TEXT, "email": _TEXT}},
        "organization": _NULLABLE,
        "csrf_token": {"type": "string", "description": "send it as X-CSRFToken on writes"},
        "expires_in": {"type": "integer"},
    },
}
ME = {
    "type": "object",
    "properties": {
        "user": {"type": "object"},
        "auth": {"enum": ["jwt", "api_token", "oidc", "session"]},
        "actor": _TEXT,
        "memberships": {"type": "array", "items": {"type": "object"}},
        "organization": {"type": ["object", "null"]},
        "roles": {"type": "array", "items": _TEXT},
        "permissions": {"type": "object"},
        "token": {"type": "object"},
    },
}
REFRESH = {"type": "object", "properties": {"refresh_token": _TEXT}}


def _login(summary: str, answer: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "tags": ["auth"],
        "summary": summary,
        "security": [],
        "parameters": [organization()],
        "requestBody": json_body(CREDENTIALS),
        "responses": {
            "200": json_response(answer, description),
            **problems(400, 401, 403, 413, 429, 503),
        },
    }


def auth_paths() -> dict[str, Any]:
    """/auth/token, /auth/login, /auth/token/refresh, /auth/logout and /auth/me."""
    no_content = {"description": "Logged out"}
    return {
        "/auth/token": {"post": _login("Exchange email and password for tokens", TOKENS, "Tokens")},
        "/auth/login": {
            "post": _login("Log in with a session cookie", SESSION, "The session (cookies set)")
        },
        "/auth/token/refresh": {
            "post": {
                "tags": ["auth"],
                "summary": "Exchange a refresh token for new tokens (the one sent is used up)",
                "security": [],
                "requestBody": json_body(REFRESH | {"required": ["refresh_token"]}),
                "responses": {
                    "200": json_response(TOKENS, "Tokens"),
                    **problems(400, 401, 403, 413),
                },
            }
        },
        "/auth/logout": {
            "post": {
                "tags": ["auth"],
                "summary": "End the session, the bearer token's login, or a refresh token's",
                "description": "A session cookie needs X-CSRFToken.",
                "requestBody": json_body(REFRESH, required=False),
                "responses": {"204": no_content, **problems(400, 401, 403, 413)},
            }
        },
        "/auth/me": {
            "get": {
                "tags": ["auth"],
                "summary": "The caller, their memberships and permissions",
                "responses": {"200": json_response(ME, "Who you are"), **problems(401, 403)},
            }
        },
    }
