"""The tables Plinth itself owns: identity (users, organizations, memberships, sessions,
refresh and API tokens), timeline, outbox, workflow runs.

Built per engine (not as module-level classes) so that one process can hold a SQLite and a
PostgreSQL registry side by side, as the tests do.
"""

from __future__ import annotations

import uuid
from typing import Any

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
from piccolo.columns.base import Column
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.engine.base import Engine
from piccolo.table import Table, create_table_class
from piccolo_api.session_auth.tables import SessionsBase

from runtime.identity.users import PlinthUserBase


def _uuid_pk() -> UUID:
    return UUID(primary_key=True, default=uuid.uuid4)


def build_platform_tables(engine: Engine[Any]) -> dict[str, type[Table]]:
    """The platform tables bound to `engine`, keyed by role ("user", "timeline", ...)."""

    def table(
        name: str, tablename: str, members: dict[str, Any], bases: tuple[type] = (Table,)
    ) -> type[Table]:
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
    organization = table("PlinthOrganization", "plinth_organization", _organization())
    return {
        "user": user,
        "organization": organization,
        "membership": table(
            "PlinthMembership", "plinth_membership", _membership(user, organization)
        ),
        "session": table(
            "PlinthSession",
            "plinth_session",
            {"user_id": UUID(null=False)},
            bases=(SessionsBase,),
        ),
        "refresh_token": table("PlinthRefreshToken", "plinth_refresh_token", _refresh_token(user)),
        "api_token": table("PlinthApiToken", "plinth_api_token", _api_token(user, organization)),
        "timeline": table("PlinthTimeline", "plinth_timeline", _timeline()),
        "outbox": table("PlinthOutbox", "plinth_outbox", _outbox()),
        "workflow_run": table("PlinthWorkflowRun", "plinth_workflow_run", _workflow_run()),
        "schedule_tick": table("PlinthScheduleTick", "plinth_schedule_tick", _schedule_tick()),
        "totp": table("PlinthTotp", "plinth_totp", _totp(user)),
        "import_job": table("PlinthImportJob", "plinth_import_job", _import_job()),
    }


def _organization() -> dict[str, Column]:
    return {
        "id": _uuid_pk(),
        "slug": Varchar(length=100, unique=True),
        "name": Varchar(length=200),
        "created_at": Timestamptz(default=TimestamptzNow()),
    }


def _membership(user: type[Table], organization: type[Table]) -> dict[str, Column]:
    return {
        "id": _uuid_pk(),
        "user": ForeignKey(user, on_delete=OnDelete.cascade, index=True),
        "organization": ForeignKey(organization, on_delete=OnDelete.cascade, index=True),
        "roles": JSON(default="[]"),
        "created_at": Timestamptz(default=TimestamptzNow()),
    }


def _refresh_token(user: type[Table]) -> dict[str, Column]:
    return {
        "id": _uuid_pk(),
        "token_hash": Varchar(length=64, unique=True),  # sha256 hex of the token
        "family_id": UUID(index=True),  # every rotation of one login
        "user": ForeignKey(user, on_delete=OnDelete.cascade, index=True),
        "organization_id": UUID(null=True),
        "created_at": Timestamptz(default=TimestamptzNow()),
        "expires_at": Timestamptz(),
        "used_at": Timestamptz(null=True, default=None),
        "revoked_at": Timestamptz(null=True, default=None),
    }


def _api_token(user: type[Table], organization: type[Table]) -> dict[str, Column]:
    return {
        "id": _uuid_pk(),
        "name": Varchar(length=100),
        "token_hash": Varchar(length=64, unique=True),  # sha256 hex of the token
        "user": ForeignKey(user, on_delete=OnDelete.cascade, index=True),
        "organization": ForeignKey(organization, on_delete=OnDelete.cascade, index=True),
        "created_at": Timestamptz(default=TimestamptzNow()),
        "last_used_at": Timestamptz(null=True, default=None),
        "revoked_at": Timestamptz(null=True, default=None),
    }


def _timeline() -> dict[str, Column]:
    return {
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
    }


def _outbox() -> dict[str, Column]:
    return {
        "id": _uuid_pk(),
        "tenant_id": UUID(null=True, index=True),
        "entity": Varchar(length=100, null=True),  # null: a schedule's event
        "record_id": UUID(null=True),
        "event": Varchar(length=20),
        "transition": Varchar(length=100, null=True),
        "actor": Varchar(length=255),
        "payload": JSON(default="{}"),
        "created_at": Timestamptz(default=TimestamptzNow()),
        "available_at": Timestamptz(null=True, default=None),  # not before: a retry's backoff
        "claimed_at": Timestamptz(null=True, default=None),  # the lease, renewed while worked on
        "claim_id": UUID(
            null=True, default=None, index=True
        ),  # whose lease: a lost one writes nothing
        "dispatched_at": Timestamptz(null=True, default=None, index=True),
        "attempts": Integer(default=0),
        "last_error": Text(null=True, default=None),
    }


def _workflow_run() -> dict[str, Column]:
    return {
        "id": _uuid_pk(),
        "event_id": UUID(index=True),
        "workflow": Varchar(length=100),
        "tenant_id": UUID(null=True, index=True),
        "entity": Varchar(length=100, null=True),
        "record_id": UUID(null=True, index=True),
        "status": Varchar(length=20, default="pending"),
        "attempts": Integer(default=0),
        "steps": JSON(default="[]"),  # one outcome per completed action (runs.py)
        "next_attempt_at": Timestamptz(null=True, default=None),
        "last_error": Text(null=True, default=None),  # why it failed, was skipped or is dead
        "created_at": Timestamptz(default=TimestamptzNow()),
        "updated_at": Timestamptz(default=TimestamptzNow()),
    }


def _schedule_tick() -> dict[str, Column]:
    return {  # one row per schedule workflow and tick: a tick fires once however many workers
        "id": _uuid_pk(),
        "workflow": Varchar(length=100),
        "tick": Timestamptz(),
        "created_at": Timestamptz(default=TimestamptzNow()),
    }


def _import_job() -> dict[str, Column]:
    return {  # an import POSTed to the API, run in the background (runtime/api/imports.py)
        "id": _uuid_pk(),
        "tenant_id": UUID(null=True, index=True),
        "entity": Varchar(length=100),
        "created_by": UUID(null=True),
        "status": Varchar(length=20, default="running"),  # running | done | failed
        "options": JSON(default="{}"),
        "report": JSON(default="{}"),  # runtime/service/imports.py ImportReport.to_json
        "created_at": Timestamptz(default=TimestamptzNow()),
        "finished_at": Timestamptz(null=True, default=None),
    }


def _totp(user: type[Table]) -> dict[str, Column]:
    return {
        "id": _uuid_pk(),
        "user": ForeignKey(user, on_delete=OnDelete.cascade, index=True),
        "secret": Varchar(length=64),  # base32 (RFC 6238), see runtime/identity/totp.py
        "recovery_codes": Text(default=""),  # sha256 digests of the unused ones
        "last_step": Integer(default=0),  # the time step of the last code accepted
        "created_at": Timestamptz(default=TimestamptzNow()),
        "confirmed_at": Timestamptz(null=True, default=None),
    }
