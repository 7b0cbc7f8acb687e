"""The `plinth_app` role's privileges: the timeline is append-only by privilege (its trigger
disabled, the statement is still refused with SQLSTATE 42501 "permission denied"), and on the
credential tables the role may issue only what walled code needs (runtime/schema/security.py,
docs/operators/security.md)."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import asyncpg
import pytest

from runtime.database import APP_ROLE
from runtime.schema.registry import Registry
from runtime.schema.security import APP_GRANTS, role_ddl
from tests.conftest import PG_ADMIN_DSN
from tests.service.lab import open_lab

pytestmark = pytest.mark.postgres

DOC = Path(__file__).resolve().parents[2] / "docs" / "operators" / "security.md"
ANY = "00000000-0000-0000-0000-000000000000"

REFUSED = [  # statements walled code never issues, on the platform's tables
    "UPDATE plinth_timeline SET actor = 'forged'",
    "DELETE FROM plinth_timeline",
    "TRUNCATE plinth_timeline",
    "UPDATE plinth_user SET superuser = true",
    "UPDATE plinth_user SET email = 'x@example.test'",
    "DELETE FROM plinth_user",
    "UPDATE plinth_organization SET slug = 'stolen'",
    "INSERT INTO plinth_organization (id, slug, name) VALUES (gen_random_uuid(), 'x', 'x')",
    "DELETE FROM plinth_organization",
    "UPDATE plinth_membership SET organization = '" + ANY + "'",
    "UPDATE plinth_session SET expiry_date = now() + interval '1 year'",
    "SELECT token_hash FROM plinth_refresh_token",
    "UPDATE plinth_refresh_token SET expires_at = now() + interval '1 year'",
    "DELETE FROM plinth_refresh_token",
    "SELECT token_hash FROM plinth_api_token",
    "UPDATE plinth_api_token SET revoked_at = NULL",
    "DELETE FROM plinth_api_token",
    "UPDATE plinth_totp SET secret = 'AAAA'",
    "UPDATE plinth_outbox SET payload = '{}'",
    "DELETE FROM plinth_outbox",
    "DELETE FROM plinth_workflow_run",
    "SELECT * FROM plinth_schedule_tick",
    "DELETE FROM plinth_schedule_tick",
    "UPDATE plinth_import_job SET tenant_id = NULL",
    "DELETE FROM plinth_import_job",
    "DELETE FROM migration",
    "SELECT * FROM plinth_schema_state",
]


async def _as_app_role(url: str, tenant: uuid.UUID, sql: str, *, untriggered: bool) -> None:
    """Run `sql` as APP_ROLE inside the wall of `tenant`, rolled back; `untriggered`: with the
    timeline's append-only triggers disabled first (as the owner), so only privileges stand."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            if untriggered:
                for trigger in ("plinth_timeline_append_only", "plinth_timeline_no_truncate"):
                    await conn.execute(f"ALTER TABLE plinth_timeline DISABLE TRIGGER {trigger}")
            await conn.execute(
                f"SELECT set_config('plinth.tenant', '{tenant}', true), "
                f"set_config('role', '{APP_ROLE}', true)"
            )
            await conn.execute(sql)
            raise _RolledBack
    except _RolledBack:
        pass
    finally:
        await conn.close()


class _RolledBack(Exception):
    """Leaves the transaction by rollback: nothing a test runs may stay."""


async def test_timeline_updates_and_deletes_are_refused_by_privilege(lab_pg_url: str) -> None:
    async with open_lab(lab_pg_url) as lab:
        sample = await lab.service.create(lab.a, "Sample", {"title": "kept"})
        for sql in REFUSED[:3]:
            with pytest.raises(asyncpg.InsufficientPrivilegeError) as refused:
                await _as_app_role(lab_pg_url, lab.a.tenant_id, sql, untriggered=True)
            assert refused.value.sqlstate == "42501"
            assert "permission denied for table plinth_timeline" in str(refused.value), sql
        # what the wall needs still works as the role: appending and reading
        await lab.service.update(lab.a, "Sample", sample["id"], {"title": "changed"})
        entries = await lab.service.timeline(lab.a, "Sample", sample["id"])
        assert [e["event"] for e in entries] == ["updated", "created"]


@pytest.mark.parametrize("sql", REFUSED[3:])
async def test_credential_statements_outside_the_request_path_are_refused(
    lab_pg_url: str, sql: str
) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied") as refused:
        await _as_app_role(lab_pg_url, uuid.uuid4(), sql, untriggered=False)
    assert refused.value.sqlstate == "42501"


async def test_the_owner_keeps_every_privilege(lab_pg_url: str) -> None:
    """The connecting role (the one `plinth migrate` ran as) owns the tables: platform work
    outside the wall (logins, token rotation, workers) is not held to APP_GRANTS."""
    conn = await asyncpg.connect(lab_pg_url)
    try:
        owners = await conn.fetch(
            "SELECT tablename, tableowner FROM pg_tables WHERE tablename LIKE 'plinth_%'"
        )
        me = await conn.fetchval("SELECT current_user")
    finally:
        await conn.close()
    assert owners and {r["tableowner"] for r in owners} == {me}


def test_every_platform_table_has_its_grant_and_the_doc_says_it() -> None:
    attributes = {f for f in Registry.__dataclass_fields__ if f not in ("project", "engine")}
    assert set(APP_GRANTS) == attributes - {"entities"}
    text = DOC.read_text()
    for role, privileges in APP_GRANTS.items():
        row = re.search(rf"^\| `plinth_{role}` \| ([^|]*) \|", text, re.MULTILINE)
        assert row is not None, f"docs/operators/security.md has no row for plinth_{role}"
        assert row.group(1).strip() == (f"`{privileges}`" if privileges else "none"), role


async def test_two_migrates_of_two_databases_create_the_role_at_once(postgres_url: str) -> None:
    """Roles are the cluster's: the `migrate` that waits on another database's uncommitted
    CREATE ROLE gets unique_violation once that commits, which must read as "already there"."""
    role = f"plinth_race_{uuid.uuid4().hex[:8]}"  # a role of its own: plinth_app is in use
    first, second = await asyncpg.connect(postgres_url), await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await first.execute("BEGIN")
        for ddl in role_ddl(role):
            await first.execute(ddl)
        await second.execute("BEGIN")
        waiting = asyncio.create_task(_run_all(second, role_ddl(role)))
        pid = second.get_server_pid()
        while not await first.fetchval(  # the second waits on the first's row
            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
        ):
            assert not waiting.done(), waiting.result()
            await asyncio.sleep(0.05)
        await first.execute("COMMIT")
        await waiting
        await second.execute("COMMIT")
        assert await second.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = $1", role) == 1
    finally:
        await first.close()
        await second.close()
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f"DROP ROLE IF EXISTS {role}")
        finally:
            await conn.close()


async def _run_all(conn: asyncpg.Connection, statements: list[str]) -> None:
    for sql in statements:
        await conn.execute(sql)
