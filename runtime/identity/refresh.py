"""Refresh tokens: random, stored as sha256 digests, rotated on every use, grouped in a family
per login. Presenting a used (or revoked) token again revokes the whole family: whoever holds
the newer token, the thief or the user, has to log in again (OAuth 2.0 Security BCP §4.14)."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from piccolo.columns.combination import WhereRaw
from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from runtime.identity import cache
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

    One compare-and-swap claims `raw` (unused, unrevoked, unexpired, its family unrevoked),
    and the next token is inserted in the same transaction: of concurrent rotations exactly
    one wins, and a loser, which sees `raw` used only once the winner committed, revokes a
    family that already holds the winner's token. A used or revoked `raw` (reuse) revokes
    the whole family. The family keeps the expiry of its first token: rotating never makes a
    login outlive `session_ttl`."""
    table = registry.refresh_token
    digest, now = token_digest(raw), _now()
    async with _transaction(registry.engine):
        claimed = await (
            table.update({table.used_at: now})
            .where(
                table.token_hash == digest,
                table.used_at.is_null(),
                table.revoked_at.is_null(),
                table.expires_at > now,
                _family_unrevoked(table),
            )
            .returning(table.family_id, table.user, table.organization_id, table.expires_at)
            .run()
        )
        if claimed:
            row = claimed[0]
            return await issue(
                registry,
                user_id=row["user"],
                org_id=row["organization_id"],
                ttl_seconds=0,
                family_id=row["family_id"],
                expires_at=_aware(row["expires_at"]),
            )
    row = await table.select().where(table.token_hash == digest).first().run()
    if row is not None and _aware(row["expires_at"]) > now:  # used, revoked: reuse
        await revoke_family(registry, row["family_id"])
    return None


def _transaction(engine: Engine[Any]) -> Any:
    """A write transaction (joining the caller's, if one runs): IMMEDIATE on SQLite, so
    concurrent rotations queue for the write lock instead of failing on it. Not
    `runtime.database.write_transaction`: that module builds on identity."""
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


def _family_unrevoked(table: type[Table]) -> WhereRaw:
    """No token of the row's family is revoked: a revocation covers every token of the
    family, also one a rotation inserted after it (`revoke_family` revokes those it sees)."""
    name = table._meta.tablename
    return WhereRaw(
        f"NOT EXISTS (SELECT 1 FROM {table._meta.get_formatted_tablename()} AS sibling "
        f'WHERE sibling.family_id = "{name}".family_id AND sibling.revoked_at IS NOT NULL)'
    )


async def revoke_family(registry: Registry, family_id: uuid.UUID) -> None:
    table = registry.refresh_token
    await (
        table.update({table.revoked_at: _now()})
        .where(table.family_id == family_id, table.revoked_at.is_null())
        .run()
    )
    cache.changed()


async def revoke_user(registry: Registry, user_id: uuid.UUID) -> None:
    """Ends every refresh-token login of the user (their access JWTs stop working too)."""
    table = registry.refresh_token
    await (
        table.update({table.revoked_at: _now()})
        .where(table.user == user_id, table.revoked_at.is_null())
        .run()
    )
    cache.changed()


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
    """False once the login was revoked (logout, reuse: any token of it) or has expired."""
    return await active_until(registry, family_id) is not None


async def active_until(registry: Registry, family_id: uuid.UUID) -> dt.datetime | None:
    """When an active login expires; None once it was revoked (logout, reuse: any token of
    it) or has expired."""
    table = registry.refresh_token
    row = await (
        table.select(table.expires_at)
        .where(
            table.family_id == family_id,
            table.revoked_at.is_null(),
            table.expires_at > _now(),
            _family_unrevoked(table),
        )
        .order_by(table.expires_at, ascending=False)
        .first()
        .run()
    )
    return _aware(row["expires_at"]) if row else None


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
