"""API tokens for apps: random, shown once, stored as sha256 digests, bound to one user and one
organization, revocable; `last_used_at` says whether one is still in use."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runtime.identity import accounts, cache
from runtime.identity.digests import token_digest

if TYPE_CHECKING:  # the tables are built by runtime/schema, which builds on identity
    from runtime.schema.registry import Registry

PREFIX = "plt_"
LAST_USED_GRANULARITY = dt.timedelta(seconds=60)  # at most one write per token per minute


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """Who an API token acts for."""

    token_id: uuid.UUID
    name: str
    user_id: uuid.UUID
    org_id: uuid.UUID


def is_api_token(raw: str) -> bool:
    return raw.startswith(PREFIX)


async def create_api_token(
    registry: Registry, email: str, org_slug: str, name: str
) -> tuple[dict[str, Any], str]:
    """(the stored row, the token): the token is not kept and cannot be shown again."""
    name = name.strip()
    if not name or len(name) > 100:
        raise accounts.AccountError("give the token a name of 1 to 100 characters")
    user = await accounts.find_user(registry, email)
    org = await accounts.find_organization(registry, org_slug)
    member_of = {m["organization_id"] for m in await accounts.memberships(registry, user["id"])}
    if org["id"] not in member_of:
        raise accounts.AccountError(
            f"{user['email']} is not a member of {org_slug!r}: grant a role first "
            f"(plinth user grant {user['email']} --org {org_slug} --role ROLE)"
        )
    raw = PREFIX + secrets.token_urlsafe(32)
    table = registry.api_token
    row = {
        "id": uuid.uuid4(),
        "name": name,
        "token_hash": token_digest(raw),
        "user": user["id"],
        "organization": org["id"],
        "created_at": dt.datetime.now(dt.UTC),
    }
    await table.insert(table(**row)).run()
    return row, raw


async def revoke_api_token(registry: Registry, token_id: str) -> dict[str, Any]:
    """Revoke a token by id; returns its row. Raises AccountError for an unknown id."""
    table = registry.api_token
    try:
        key = uuid.UUID(token_id)
    except ValueError:
        raise accounts.AccountError(f"{token_id!r} is not a token id (a UUID)") from None
    row: dict[str, Any] | None = await table.select().where(table.id == key).first().run()
    if row is None:
        raise accounts.AccountError(f"no API token {token_id}")
    if row["revoked_at"] is None:
        await table.update({table.revoked_at: dt.datetime.now(dt.UTC)}).where(table.id == key).run()
        cache.changed()
    return row


async def list_api_tokens(registry: Registry, email: str) -> list[dict[str, Any]]:
    """The user's tokens (never the secrets), newest first."""
    user = await accounts.find_user(registry, email)
    table = registry.api_token
    tokens: list[dict[str, Any]] = (
        await table.select(
            table.id,
            table.name,
            table.organization.slug.as_alias("organization"),
            table.created_at,
            table.last_used_at,
            table.revoked_at,
        )
        .where(table.user == user["id"])
        .order_by(table.created_at, ascending=False)
        .run()
    )
    return tokens


async def token_owner(registry: Registry, raw: str) -> TokenOwner | None:
    """Who a valid, unrevoked token acts for (and note that it was used), else None."""
    table = registry.api_token
    row = (
        await table.select()
        .where(table.token_hash == token_digest(raw), table.revoked_at.is_null())
        .first()
        .run()
    )
    if row is None:
        return None
    now = dt.datetime.now(dt.UTC)
    last = row["last_used_at"]
    if last is None or _aware(last) < now - LAST_USED_GRANULARITY:
        await table.update({table.last_used_at: now}).where(table.id == row["id"]).run()
    return TokenOwner(
        token_id=row["id"], name=row["name"], user_id=row["user"], org_id=row["organization"]
    )


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
