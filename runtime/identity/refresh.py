"""Refresh tokens: random, stored as sha256 digests, rotated on every use, grouped in a family
per login. Presenting a used (or revoked) token again revokes the whole family: whoever holds
the newer token, the thief or the user, has to log in again (OAuth 2.0 Security BCP §4.14)."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runtime.identity.digests import token_digest

if TYPE_CHECKING:  # the tables are built by runtime/schema, which builds on identity
    from runtime.schema.registry import Registry

PREFIX = "plr_"


@dataclass(frozen=True, slots=True)
class Refreshed:
    token: str  # the new refresh token: shown once
    family_id: uuid.UUID
    user_id: uuid.UUID
    org_id: uuid.UUID | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def issue(
    registry: Registry,
    *,
    user_id: uuid.UUID,
    org_id: uuid.UUID | None,
    ttl_seconds: int,
    family_id: uuid.UUID | None = None,
    expires_at: dt.datetime | None = None,
) -> Refreshed:
    """A new refresh token: a new family (a login), or the next one of `family_id`."""
    raw = PREFIX + secrets.token_urlsafe(32)
    family = family_id or uuid.uuid4()
    table = registry.refresh_token
    await table.insert(
        table(
            id=uuid.uuid4(),
            token_hash=token_digest(raw),
            family_id=family,
            user=user_id,
            organization_id=org_id,
            created_at=_now(),
            expires_at=expires_at or _now() + dt.timedelta(seconds=ttl_seconds),
        )
    ).run()
    return Refreshed(token=raw, family_id=family, user_id=user_id, org_id=org_id)


async def rotate(registry: Registry, raw: str) -> Refreshed | None:
    """The family's next token for a valid `raw` one (which is then used up), else None.

    A used or revoked `raw` revokes its whole family (reuse detection). The family keeps the
    expiry of its first token: rotating never makes a login outlive `session_ttl`."""
    table = registry.refresh_token
    row = await table.select().where(table.token_hash == token_digest(raw)).first().run()
    if row is None:
        return None
    now = _now()
    if row["used_at"] is not None or row["revoked_at"] is not None:
        await revoke_family(registry, row["family_id"])
        return None
    if _aware(row["expires_at"]) <= now:
        return None
    claimed = (
        await table.update({table.used_at: now})
        .where(table.id == row["id"], table.used_at.is_null(), table.revoked_at.is_null())
        .returning(table.id)
        .run()
    )
    if not claimed:  # a concurrent request used it first: that is reuse too
        await revoke_family(registry, row["family_id"])
        return None
    return await issue(
        registry,
        user_id=row["user"],
        org_id=row["organization_id"],
        ttl_seconds=0,
        family_id=row["family_id"],
        expires_at=_aware(row["expires_at"]),
    )


async def revoke_family(registry: Registry, family_id: uuid.UUID) -> None:
    table = registry.refresh_token
    await (
        table.update({table.revoked_at: _now()})
        .where(table.family_id == family_id, table.revoked_at.is_null())
        .run()
    )


async def revoke_user(registry: Registry, user_id: uuid.UUID) -> None:
    """Ends every refresh-token login of the user (their access JWTs stop working too)."""
    table = registry.refresh_token
    await (
        table.update({table.revoked_at: _now()})
        .where(table.user == user_id, table.revoked_at.is_null())
        .run()
    )


async def family_of(registry: Registry, raw: str) -> uuid.UUID | None:
    """The family (login) of a refresh token, used or not; None for an unknown token."""
    table = registry.refresh_token
    row = (
        await table.select(table.family_id)
        .where(table.token_hash == token_digest(raw))
        .first()
        .run()
    )
    return row["family_id"] if row else None


async def is_family_active(registry: Registry, family_id: uuid.UUID) -> bool:
    """False once the login was revoked (logout, reuse) or has expired."""
    table = registry.refresh_token
    active: bool = await (
        table.exists()
        .where(
            table.family_id == family_id,
            table.revoked_at.is_null(),
            table.expires_at > _now(),
        )
        .run()
    )
    return active


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
