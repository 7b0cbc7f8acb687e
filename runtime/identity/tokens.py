"""Access tokens: short-lived HS256 JWTs carrying the user, the active organization and the
login (refresh-token family) they belong to, so that logging out ends them too."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import jwt

from runtime.identity.keys import KeyRing

ISSUER = "plinth"
REQUIRED_CLAIMS = ["exp", "sub", "iss", "sid"]


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    org_id: uuid.UUID | None
    family_id: uuid.UUID  # the refresh-token family (one login)


def issue_access_token(
    keys: KeyRing,
    *,
    user_id: uuid.UUID,
    org_id: uuid.UUID | None,
    family_id: uuid.UUID,
    ttl_seconds: int,
) -> str:
    now = dt.datetime.now(dt.UTC)
    claims = {
        "iss": ISSUER,
        "sub": str(user_id),
        "org": str(org_id) if org_id else None,
        "sid": str(family_id),
        "iat": now,
        "exp": now + dt.timedelta(seconds=ttl_seconds),
        "jti": uuid.uuid4().hex,
    }
    return keys.sign(claims)


def read_access_token(keys: KeyRing, token: str) -> AccessClaims | None:
    """The claims of a valid, unexpired access token, else None."""
    try:
        claims = keys.verify(token, issuer=ISSUER, options={"require": REQUIRED_CLAIMS})
        org = claims.get("org")
        return AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            org_id=uuid.UUID(org) if org else None,
            family_id=uuid.UUID(claims["sid"]),
        )
    except (jwt.InvalidTokenError, ValueError, TypeError):
        return None


def is_plinth_token(token: str) -> bool:
    """Whether a bearer JWT claims to be ours (its signature is checked later, by
    `read_access_token`); other issuers' tokens go to OIDC."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return False
    return claims.get("iss") == ISSUER
