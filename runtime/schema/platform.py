"""The tables Plinth itself owns: identity (users, organizations, memberships, sessions,
refresh and API tokens), timeline, outbox, workflow runs.

Built per engine (not as module-level classes) so that one process can hold a SQLite and a
PostgreSQL registry side by side, as the tests do.
"""

from __future__ import annotations

import uuid

from piccolo.apps.user.tables import BaseUser
from piccolo.columns import (
    JSON,
    UUID,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.engine.base import Engine
from piccolo.table import Table, create_table_class
from piccolo_api.session_auth.tables import SessionsBase

from runtime.identity.passwords import hash_password, verify_password_async


def _uuid_pk() -> UUID:
    return UUID(primary_key=True, default=uuid.uuid4)


class PlinthUserBase(BaseUser):
    """piccolo-admin's user, with a UUID key and argon2 hashes (the login name is the email)."""

    def __init__(self, **kwargs) -> None:
        if kwargs.get("password"):
            kwargs["password"] = self._hashed(kwargs["password"])
        Table.__init__(self, **kwargs)

    def __setattr__(self, name: str, value) -> None:
        if name == "password" and isinstance(value, str):
            value = self._hashed(value)
        Table.__setattr__(self, name, value)

    @classmethod
    def _hashed(cls, password: str) -> str:
        return password if password.startswith("$argon2") else hash_password(password)

    @classmethod
    def hash_password(cls, password: str, salt: str = "", iterations: int | None = None) -> str:
        return hash_password(password)

    @classmethod
    async def login(cls, username: str, password: str):  # type: ignore[override]
        row = (
            await cls.select(cls._meta.primary_key, cls.password, cls.active)
            .where(cls.username == username.strip().lower())
            .first()
            .run()
        )
        if not await verify_password_async(row["password"] if row else None, password):
            return None
        if not row["active"]:
            return None
        return row["id"]


def build_platform_tables(engine: Engine) -> dict[str, type[Table]]:
    """The platform tables bound to `engine`, keyed by role ("user", "timeline", ...)."""

    def table(name: str, tablename: str, members: dict, bases=(Table,)) -> type[Table]:
        return create_table_class(
            name,
            bases=bases,
            class_kwargs={"tablename": tablename, "db": engine},
            class_members=members,
        )

    user = table(
        "PlinthUser",
        "plinth_user",
        {"id": _uuid_pk()},
        bases=(PlinthUserBase,),
    )
    organization = table(
        "PlinthOrganization",
        "plinth_organization",
        {
            "id": _uuid_pk(),
            "slug": Varchar(length=100, unique=True),
            "name": Varchar(length=200),
            "created_at": Timestamptz(default=TimestamptzNow()),
        },
    )
    membership = table(
        "PlinthMembership",
        "plinth_membership",
        {
            "id": _uuid_pk(),
            "user": ForeignKey(user, on_delete=OnDelete.cascade, index=True),
            "organization": ForeignKey(organization, on_delete=OnDelete.cascade, index=True),
            "roles": JSON(default="[]"),
            "created_at": Timestamptz(default=TimestamptzNow()),
        },
    )
    session = table(
        "PlinthSession",
        "plinth_session",
        {"user_id": UUID(null=False)},
        bases=(SessionsBase,),
    )
    refresh_token = table(
        "PlinthRefreshToken",
        "plinth_refresh_token",
        {
            "id": _uuid_pk(),
            "token_hash": Varchar(length=64, unique=True),  # sha256 hex of the token
            "family_id": UUID(index=True),  # every rotation of one login
            "user": ForeignKey(user, on_delete=OnDelete.cascade, index=True),
            "organization_id": UUID(null=True),
            "created_at": Timestamptz(default=TimestamptzNow()),
            "expires_at": Timestamptz(),
            "used_at": Timestamptz(null=True, default=None),
            "revoked_at": Timestamptz(null=True, default=None),
        },
    )
    api_token = table(
        "PlinthApiToken",
        "plinth_api_token",
        {
            "id": _uuid_pk(),
            "name": Varchar(length=100),
            "token_hash": Varchar(length=64, unique=True),  # sha256 hex of the token
            "user": ForeignKey(user, on_delete=OnDelete.cascade, index=True),
            "organization": ForeignKey(organization, on_delete=OnDelete.cascade, index=True),
            "created_at": Timestamptz(default=TimestamptzNow()),
            "last_used_at": Timestamptz(null=True, default=None),
            "revoked_at": Timestamptz(null=True, default=None),
        },
    )
    timeline = table(
        "PlinthTimeline",
        "plinth_timeline",
        {
            "id": _uuid_pk(),
            "tenant_id": UUID(null=True, index=True),
            "entity": Varchar(length=100),
            "record_id": UUID(index=True),
            "actor_id": UUID(null=True),
            "actor": Varchar(length=255),
            "event": Varchar(length=20),
            "transition": Varchar(length=100, null=True),
            "changes": JSON(default="{}"),
            "request_id": Varchar(length=64, null=True),
            "at": Timestamptz(default=TimestamptzNow()),
        },
    )
    outbox = table(
        "PlinthOutbox",
        "plinth_outbox",
        {
            "id": _uuid_pk(),
            "tenant_id": UUID(null=True, index=True),
            "entity": Varchar(length=100),
            "record_id": UUID(),
            "event": Varchar(length=20),
            "transition": Varchar(length=100, null=True),
            "actor": Varchar(length=255),
            "payload": JSON(default="{}"),
            "created_at": Timestamptz(default=TimestamptzNow()),
            "claimed_at": Timestamptz(null=True, default=None),
            "dispatched_at": Timestamptz(null=True, default=None, index=True),
            "attempts": Integer(default=0),
            "last_error": Text(null=True, default=None),
        },
    )
    workflow_run = table(
        "PlinthWorkflowRun",
        "plinth_workflow_run",
        {
            "id": _uuid_pk(),
            "event_id": UUID(index=True),
            "workflow": Varchar(length=100),
            "tenant_id": UUID(null=True),
            "status": Varchar(length=20, default="pending"),
            "attempts": Integer(default=0),
            "last_error": Text(null=True, default=None),
            "created_at": Timestamptz(default=TimestamptzNow()),
            "updated_at": Timestamptz(default=TimestamptzNow()),
        },
    )
    totp = table(
        "PlinthTotp",
        "plinth_totp",
        {
            "id": _uuid_pk(),
            "user": ForeignKey(user, on_delete=OnDelete.cascade, index=True),
            "secret": Varchar(length=64),  # base32 (RFC 6238), see runtime/identity/totp.py
            "recovery_codes": Text(default=""),  # sha256 digests of the unused ones
            "last_step": Integer(default=0),  # the time step of the last code accepted
            "created_at": Timestamptz(default=TimestamptzNow()),
            "confirmed_at": Timestamptz(null=True, default=None),
        },
    )
    return {
        "user": user,
        "organization": organization,
        "membership": membership,
        "session": session,
        "refresh_token": refresh_token,
        "api_token": api_token,
        "timeline": timeline,
        "outbox": outbox,
        "workflow_run": workflow_run,
        "totp": totp,
    }
