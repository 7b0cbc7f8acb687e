"""An organization's members, as its owners manage them: list, add (a new user or an existing
one by email), grant and revoke roles, end a membership.

Every function takes the organization's id and touches only memberships of it: a membership
id from another organization is "no such member", exactly like one that does not exist. The
roles themselves are checked by accounts.grant_role (`owner` or a role of the project). An
organization always keeps at least one owner."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from runtime.identity import accounts, cache
from runtime.identity.accounts import AccountError

if TYPE_CHECKING:  # the tables are built by runtime/schema, which builds on identity
    from runtime.schema.registry import Registry

NO_MEMBER = "no such member in this organization"


async def list_members(registry: Registry, org_id: uuid.UUID) -> list[dict[str, Any]]:
    """[{membership_id, user_id, email, active, roles}] ordered by email."""
    m = registry.membership
    rows = (
        await m.select(
            m.id.as_alias("membership_id"),
            m.user.id.as_alias("user_id"),
            m.user.email.as_alias("email"),
            m.user.active.as_alias("active"),
            m.roles,
        )
        .where(m.organization == org_id)
        .order_by(m.user.email)
        .run()
    )
    return [row | {"roles": sorted(accounts.roles_of(row["roles"]))} for row in rows]


async def _slug(registry: Registry, org_id: uuid.UUID) -> str:
    org = registry.organization
    row = await org.select(org.slug).where(org.id == org_id).first().run()
    if row is None:
        raise AccountError("no such organization")
    slug: str = row["slug"]
    return slug


async def add_member(
    registry: Registry,
    org_id: uuid.UUID,
    email: str,
    role: str,
    *,
    password: str | None = None,
) -> dict[str, Any]:
    """Gives `email` the role in the organization: an existing user by email, else a new user
    with `password` (required then). The member's row as list_members shows it."""
    slug = await _slug(registry, org_id)
    email = accounts.normalize_email(email)
    user = registry.user
    if not await user.exists().where(user.email == email).run():
        if not password or len(password) < accounts.MIN_NEW_PASSWORD_LENGTH:
            raise AccountError(
                f"{email} has no account yet: give them a password of at least "
                f"{accounts.MIN_NEW_PASSWORD_LENGTH} characters"
            )
        await accounts.create_user(registry, email, password)
    await accounts.grant_role(registry, email, slug, role)
    return next(row for row in await list_members(registry, org_id) if row["email"] == email)


async def _member(
    registry: Registry, org_id: uuid.UUID, membership_id: uuid.UUID
) -> dict[str, Any]:
    for row in await list_members(registry, org_id):
        if row["membership_id"] == membership_id:
            return row
    raise AccountError(NO_MEMBER)


async def _keeps_an_owner(registry: Registry, org_id: uuid.UUID, membership_id: uuid.UUID) -> None:
    others = [
        row
        for row in await list_members(registry, org_id)
        if row["membership_id"] != membership_id and "owner" in row["roles"] and row["active"]
    ]
    if not others:
        raise AccountError("the organization would have no owner left: make someone else owner")


async def grant(registry: Registry, org_id: uuid.UUID, membership_id: uuid.UUID, role: str) -> None:
    member = await _member(registry, org_id, membership_id)
    await accounts.grant_role(registry, member["email"], await _slug(registry, org_id), role)


async def revoke(
    registry: Registry, org_id: uuid.UUID, membership_id: uuid.UUID, role: str
) -> None:
    """Takes the role away; a membership whose last role goes ends (accounts.revoke_role)."""
    member = await _member(registry, org_id, membership_id)
    if role not in member["roles"]:
        raise AccountError(f"{member['email']} does not have the role {role!r}")
    if role == "owner":
        await _keeps_an_owner(registry, org_id, membership_id)
    await accounts.revoke_role(registry, member["email"], await _slug(registry, org_id), role)


async def deactivate(registry: Registry, org_id: uuid.UUID, membership_id: uuid.UUID) -> None:
    """Ends the membership: the user keeps their account and other organizations, and their
    sessions and tokens stop reaching this one at their next request."""
    member = await _member(registry, org_id, membership_id)
    if "owner" in member["roles"]:
        await _keeps_an_owner(registry, org_id, membership_id)
    m = registry.membership
    await m.delete().where(m.id == membership_id, m.organization == org_id).run()
    cache.changed()


async def organizations(registry: Registry) -> list[dict[str, Any]]:
    """Every organization [{id, slug, name}] by slug: what a superuser may pick from."""
    org = registry.organization
    rows: list[dict[str, Any]] = (
        await org.select(org.id, org.slug, org.name).order_by(org.slug).run()
    )
    return rows
