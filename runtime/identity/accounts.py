"""Users, organizations and memberships: create them, check a login, list a user's
memberships (runtime/access/resolve.py turns one into a Principal)."""

from __future__ import annotations

import json
import re
import uuid
from typing import TYPE_CHECKING, Any

from runtime.identity import cache, refresh, sessions
from runtime.identity.passwords import (
    MAX_PASSWORD_LENGTH,
    hash_password,
    hash_password_async,
    needs_rehash,
    verify_password_async,
)

if TYPE_CHECKING:  # the tables are built by runtime/schema, which builds on identity
    from runtime.schema.registry import Registry

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
MIN_NEW_PASSWORD_LENGTH = 8  # NIST SP 800-63B's minimum for a password the user chooses


class AccountError(ValueError):
    """A command's input is wrong; the message says which and why."""


class WrongPassword(AccountError):
    """The current password given to confirm a change is not the user's (count it as a
    failed login)."""


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 255:
        raise AccountError(f"{email!r} is not an email address")
    return email


async def create_organization(
    registry: Registry, slug: str, name: str | None = None
) -> dict[str, Any]:
    if not SLUG.match(slug):
        raise AccountError(
            f"organization slug {slug!r}: use lowercase letters, digits and '-' (e.g. 'acme')"
        )
    org = registry.organization
    if await org.exists().where(org.slug == slug).run():
        raise AccountError(f"organization {slug!r} already exists")
    row = {"id": uuid.uuid4(), "slug": slug, "name": name or slug}
    await org.insert(org(**row)).run()
    return row


async def create_user(
    registry: Registry,
    email: str,
    password: str,
    *,
    superuser: bool = False,
) -> dict[str, Any]:
    email = normalize_email(email)
    user = registry.user
    if await user.exists().where(user.email == email).run():
        raise AccountError(f"user {email!r} already exists")
    row = {
        "id": uuid.uuid4(),
        "username": email,
        "email": email,
        "password": hash_password(password),
        "active": True,
        "admin": True,  # may sign in to /admin; what they see there is their organizations'
        "superuser": superuser,
    }
    await user.insert(user(**row)).run()
    return row


async def _membership(
    registry: Registry, email: str, org_slug: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """The user, the organization and the user's membership in it (None: not a member)."""
    user_row = await find_user(registry, email)
    org_row = await find_organization(registry, org_slug)
    m = registry.membership
    existing = (
        await m.select()
        .where(m.user == user_row["id"], m.organization == org_row["id"])
        .first()
        .run()
    )
    return user_row, org_row, existing


async def grant_role(registry: Registry, email: str, org_slug: str, role: str) -> None:
    user_row, org_row, existing = await _membership(registry, email, org_slug)
    if role != "owner" and role not in registry.project.roles:
        known = ", ".join(["owner", *sorted(registry.project.roles)])
        raise AccountError(f"no role {role!r} (roles: {known})")
    m = registry.membership
    if existing is None:
        await m.insert(
            m(user=user_row["id"], organization=org_row["id"], roles=json.dumps([role]))
        ).run()
    else:
        roles = sorted(set(roles_of(existing["roles"])) | {role})
        await m.update({m.roles: json.dumps(roles)}).where(m.id == existing["id"]).run()
    cache.changed()


async def revoke_role(registry: Registry, email: str, org_slug: str, role: str) -> bool:
    """Take `role` away in the organization (the membership ends with its last role).
    False when the user did not have it."""
    _, _, existing = await _membership(registry, email, org_slug)
    m = registry.membership
    if existing is None or role not in roles_of(existing["roles"]):
        return False
    roles = sorted(set(roles_of(existing["roles"])) - {role})
    if roles:
        await m.update({m.roles: json.dumps(roles)}).where(m.id == existing["id"]).run()
    else:
        await m.delete().where(m.id == existing["id"]).run()
    cache.changed()
    return True


async def find_user(registry: Registry, email: str) -> dict[str, Any]:
    user = registry.user
    row: dict[str, Any] | None = (
        await user.select().where(user.email == normalize_email(email)).first().run()
    )
    if row is None:
        raise AccountError(f"no user {email!r}")
    return row


async def find_organization(registry: Registry, slug: str) -> dict[str, Any]:
    org = registry.organization
    row: dict[str, Any] | None = await org.select().where(org.slug == slug).first().run()
    if row is None:
        raise AccountError(f"no organization {slug!r}")
    return row


async def authenticate(registry: Registry, email: str, password: str) -> dict[str, Any] | None:
    """The active user with this email and password, else None (same work either way)."""
    user = registry.user
    try:
        email = normalize_email(email)
    except AccountError:
        await verify_password_async(None, password)
        return None
    row = await user.select().where(user.email == email).first().run()
    if not await verify_password_async(row["password"] if row else None, password):
        return None
    if needs_rehash(row["password"]):
        await (
            user.update({user.password: await hash_password_async(password)})
            .where(user.id == row["id"])
            .run()
        )
    return row if row["active"] else None


async def change_password(
    registry: Registry,
    user_id: uuid.UUID,
    current: str,
    new: str,
    *,
    keep_session: str | None = None,
) -> None:
    """Replace the user's password (argon2) once `current` is confirmed, and end every other
    login of theirs: sessions but `keep_session`, and refresh-token families (their JWTs).

    Raises WrongPassword when `current` is not theirs, AccountError when `new` is refused."""
    if not MIN_NEW_PASSWORD_LENGTH <= len(new) <= MAX_PASSWORD_LENGTH:
        raise AccountError(
            f"the new password must have {MIN_NEW_PASSWORD_LENGTH} to "
            f"{MAX_PASSWORD_LENGTH} characters"
        )
    if new == current:
        raise AccountError("the new password is the current one: choose another")
    user = registry.user
    row = await user.select(user.password).where(user.id == user_id).first().run()
    if not await verify_password_async(row["password"] if row else None, current):
        raise WrongPassword("the current password is wrong")
    hashed = await hash_password_async(new)
    await user.update({user.password: hashed}).where(user.id == user_id).run()
    await sessions.end_other_sessions(registry, user_id, keep=keep_session)
    await refresh.revoke_user(registry, user_id)


async def is_active_user(registry: Registry, user_id: uuid.UUID) -> bool:
    user = registry.user
    active: bool = await user.exists().where(user.id == user_id, user.active.eq(True)).run()
    return active


def roles_of(raw: Any) -> list[str]:
    """A membership's `roles` column as a list (JSON text on SQLite, decoded on PostgreSQL)."""
    return json.loads(raw) if isinstance(raw, str) else list(raw or [])


async def memberships(registry: Registry, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """[{organization_id, slug, name, roles}] for a user, ordered by organization slug."""
    m = registry.membership
    rows = (
        await m.select(
            m.organization.id.as_alias("organization_id"),
            m.organization.slug.as_alias("slug"),
            m.organization.name.as_alias("name"),
            m.roles,
        )
        .where(m.user == user_id)
        .order_by(m.organization.slug)
        .run()
    )
    return [row | {"roles": roles_of(row["roles"])} for row in rows]
