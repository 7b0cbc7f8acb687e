"""Access tokens: short-lived HS256 JWTs carrying the user and the active organization."""

from __future__ import annotations

import datetime as dt
import uuid

import jwt

ALGORITHM = "HS256"
ISSUER = "plinth"


def issue_access_token(
    secret: str, *, user_id: uuid.UUID, org_id: uuid.UUID | None, ttl_seconds: int
) -> str:
    now = dt.datetime.now(dt.UTC)
    claims = {
        "iss": ISSUER,
        "sub": str(user_id),
        "org": str(org_id) if org_id else None,
        "iat": now,
        "exp": now + dt.timedelta(seconds=ttl_seconds),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_access_token(secret: str, token: str) -> tuple[uuid.UUID, uuid.UUID | None] | None:
    """(user id, organization id) from a valid token, else None."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iss"]},
        )
        org = claims.get("org")
        return uuid.UUID(claims["sub"]), uuid.UUID(org) if org else None
    except (jwt.InvalidTokenError, ValueError):
        return None
