"""The Principal of a signed-in user: who they are in one of their organizations.

In access, not identity: identity knows users and memberships, access what acting as one means.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from runtime.access.principal import Principal
from runtime.identity import accounts

if TYPE_CHECKING:
    from runtime.schema.registry import Registry


async def principal_for(
    registry: Registry, user_id: uuid.UUID, org: str | uuid.UUID | None
) -> Principal | None:
    """The user's Principal in organization `org` (slug or id; None: their first one).

    None when the user is unknown or inactive, or `org` is not one of their memberships —
    the caller answers the same way whether or not that organization exists."""
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
        if org is None and row["superuser"]:
            return Principal(
                tenant_id=None,
                actor=row["email"],
                user_id=row["id"],
                email=row["email"],
                is_superuser=True,
            )
        return None
    return Principal(
        tenant_id=chosen["organization_id"],
        tenant_slug=chosen["slug"],
        actor=row["email"],
        user_id=row["id"],
        email=row["email"],
        roles=frozenset(chosen["roles"]),
        is_superuser=bool(row["superuser"]),
    )
