"""The Principal of a signed-in user: who they are in one of their organizations.

In access, not identity: identity knows users and memberships, access what acting as one means.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from runtime.access.principal import Principal
from runtime.fields import as_uuid
from runtime.identity import accounts

if TYPE_CHECKING:
    from runtime.schema.registry import Registry


async def principal_for(
    registry: Registry, user_id: uuid.UUID, org: str | uuid.UUID | None
) -> Principal | None:
    """The user's Principal in organization `org` (slug or id; None: their first one).

    None when the user is unknown or inactive, or `org` is not one of their memberships —
    the caller answers the same way whether or not that organization exists. A superuser may
    act in any organization that exists (`superuser_in`)."""
    user = registry.user
    row = await user.select().where(user.id == user_id).first().run()
    if row is None or not row["active"]:
        return None
    chosen = None
    for membership in await accounts.memberships(registry, user_id):
        if org is None or str(org) in (membership["slug"], str(membership["organization_id"])):
            chosen = membership
            break
    if chosen is None:
        return await superuser_in(registry, row, org) if row["superuser"] else None
    return Principal(
        tenant_id=chosen["organization_id"],
        tenant_slug=chosen["slug"],
        actor=row["email"],
        user_id=row["id"],
        email=row["email"],
        roles=frozenset(chosen["roles"]),
        is_superuser=bool(row["superuser"]),
    )


async def superuser_in(
    registry: Registry, user: dict[str, Any], org: str | uuid.UUID | None
) -> Principal | None:
    """A superuser outside their memberships: in `org` (slug or id) as an owner would be —
    every verb on every entity, `$user.roles` holding `owner` — or, with no `org`, in no
    organization (what spans them). None when `org` does not exist."""
    tenant_id, slug = None, None
    if org is not None:
        table = registry.organization
        match = table.slug == str(org)
        if (org_id := as_uuid(org)) is not None:
            match = match | (table.id == org_id)
        found = await table.select(table.id, table.slug).where(match).first().run()
        if found is None:
            return None
        tenant_id, slug = found["id"], found["slug"]
    return Principal(
        tenant_id=tenant_id,
        tenant_slug=slug,
        actor=user["email"],
        user_id=user["id"],
        email=user["email"],
        roles=frozenset({"owner"}) if tenant_id else frozenset(),
        is_superuser=True,
    )
